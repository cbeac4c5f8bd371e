"""Fixtures for the Telegram tests: the fake Bot API, a registered bot, posting updates as Telegram does."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from otdel.comms.models import TelegramBot
from otdel.comms.telegram.services import telegram_bot_create
from otdel.comms.tests.telegram.support.server import FakeBotApi

PUBLIC_URL = "https://crm.example.ru"
_update_ids = itertools.count(800000001)


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    server = FakeBotApi().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def telegram_settings(settings: Any, tmp_path: Any) -> Any:
    settings.OTDEL_PUBLIC_URL = PUBLIC_URL
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def telegram_bot(db: Any, bot_api: FakeBotApi, telegram_settings: Any) -> TelegramBot:
    token = bot_api.add_bot("otdel_sales_bot")
    return telegram_bot_create(
        actor=None, name="Отдел продаж", key="sales", token=token, api_base_url=bot_api.url
    )


@pytest.fixture
def deliver(
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Any]:
    """``deliver(bot, update, secret=...)``: POST the update to the webhook the way Telegram does.

    Commit hooks run as they would after a real commit (the test itself runs in one transaction).
    """
    client = APIClient()

    def post(bot: TelegramBot, update: Any, *, secret: str | None = None, raw: bytes | None = None) -> Any:
        headers = {} if secret == "" else {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret or bot.secret_token}
        body = raw if raw is not None else json.dumps(update, ensure_ascii=False).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic(
                "POST",
                f"/api/v1/telegram/{bot.key}/webhook",
                body,
                content_type="application/json",
                **headers,
            )

    return post


def person(
    user_id: int = 422110, first_name: str = "Иван", last_name: str = "Петров", **extra: Any
) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": last_name,
        "language_code": "ru",
        **extra,
    }


def private_update(
    *,
    chat_id: int = 422110,
    message_id: int = 1,
    text: str | None = None,
    kind: str = "message",
    **fields: Any,
) -> dict[str, Any]:
    """An Update with a message in a private chat, shaped exactly as Telegram posts it."""
    sender = fields.pop("sender", None) or person(chat_id)
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": sender,
        "chat": {
            "id": chat_id,
            "first_name": sender.get("first_name"),
            "last_name": sender.get("last_name"),
            "type": "private",
        },
        "date": int(time.time()),
        **fields,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": next(_update_ids), kind: message}

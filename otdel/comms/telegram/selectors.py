"""Reads of Telegram bot settings: administrators only (through ``scope``), and by key for the webhook."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from otdel.comms.models import TelegramBot
from otdel.core.scoping import scope


def telegram_bot_list(*, user: Any) -> QuerySet[TelegramBot]:
    # No scope rule is registered for bots, so ``scope`` shows them to administrators only.
    return scope(TelegramBot.objects.select_related("queue"), user).order_by("name", "id")


def telegram_bot_by_key(*, key: str) -> TelegramBot | None:
    """Unscoped: the webhook authenticates with the bot's secret token, not a user."""
    return TelegramBot.objects.select_related("queue").filter(key=key).first()

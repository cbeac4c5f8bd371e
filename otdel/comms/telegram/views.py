"""Telegram pages: bots in the channel settings, setting a bot's webhook."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.views import admin_required
from otdel.comms.channels import settings_form_save, settings_page
from otdel.comms.forms import (
    TelegramBotForm,
)
from otdel.comms.telegram.selectors import telegram_bot_list
from otdel.comms.telegram.services import (
    telegram_bot_create,
    telegram_bot_update,
    telegram_bot_webhook_set,
    telegram_webhook_url,
)
from otdel.web.http import errors_text


def _bot_or_404(request: HttpRequest, pk: int) -> Any:
    return get_object_or_404(telegram_bot_list(user=request.user), pk=pk)


@admin_required
def telegram_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {"bot": bot, "webhook_url": telegram_webhook_url(bot)} for bot in telegram_bot_list(user=request.user)
    ]
    return settings_page(request, "comms/settings/telegram_list.html", "telegram", rows=rows)


@admin_required
def telegram_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    bot = _bot_or_404(request, pk) if pk is not None else None
    form = TelegramBotForm(request.POST or None, instance=bot)
    if request.method == "POST":

        def save() -> Any:
            fields = form.service_fields()
            if bot is None:
                fields.pop("is_active", None)
                return telegram_bot_create(actor=request.user, **fields)
            return telegram_bot_update(
                actor=request.user, bot=bot, expected_version=form.read_version(), **fields
            )

        done = settings_form_save(
            request, form, save, _("Telegram bot saved."), lambda b: redirect("comms_telegram_edit", pk=b.pk)
        )
        if done is not None:
            return done
    return settings_page(
        request,
        "comms/settings/telegram_form.html",
        "telegram",
        form=form,
        bot=bot,
        webhook_url=telegram_webhook_url(bot) if bot is not None else "",
    )


@admin_required
@require_POST
def telegram_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    bot = _bot_or_404(request, pk)
    try:
        telegram_bot_webhook_set(actor=request.user, bot=bot)
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
    else:
        messages.success(request, _("The webhook points here again."))
    return redirect("comms_telegram_edit", pk=bot.pk)

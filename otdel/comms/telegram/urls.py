"""API routes of the Telegram channel (included from otdel/comms/api/urls.py, mounted at /api/v1/)."""

from django.urls import path

from otdel.comms.telegram import parse  # noqa: F401  (registers the "telegram" intake parser)
from otdel.comms.telegram.api import (
    ContactTelegramView,
    TelegramBotDetailView,
    TelegramBotListView,
    TelegramBotWebhookView,
    TelegramWebhookView,
)

urlpatterns = [
    path("telegram-bots", TelegramBotListView.as_view(), name="api-telegram-bots"),
    path("telegram-bots/<int:pk>", TelegramBotDetailView.as_view(), name="api-telegram-bot"),
    path("telegram-bots/<int:pk>/webhook", TelegramBotWebhookView.as_view(), name="api-telegram-bot-webhook"),
    path("telegram/<slug:bot_key>/webhook", TelegramWebhookView.as_view(), name="api-telegram-webhook"),
    path("contacts/<int:contact_id>/telegram", ContactTelegramView.as_view(), name="api-contact-telegram"),
]

"""Telegram through the API: bot registration by an admin, replies from the contact card."""

import json

import pytest

from otdel.comms.models import Interaction, TelegramBot
from otdel.comms.selectors import timeline
from otdel.comms.tests.telegram.support.fixtures import (
    PUBLIC_URL,
    private_update,
)
from otdel.core.models import ObjectChange
from otdel.crm.tests.factories import ContactFactory, IdentityFactory
from otdel.routing.models import Queue

BOTS = "/api/v1/telegram-bots"


@pytest.mark.django_db
def test_admin_registers_a_bot_and_its_webhook_is_set_with_a_secret(
    api_for, admin_user, bot_api, telegram_settings
):
    Queue.objects.create(code="telegram", name="Telegram")
    token = bot_api.add_bot("romashka_sales_bot")
    response = api_for(admin_user).post(
        BOTS,
        {
            "name": "Ромашка",
            "key": "romashka",
            "token": token,
            "queue": "telegram",
            "api_base_url": bot_api.url,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "token" not in body and "secret_token" not in body
    assert (body["username"], body["queue"], body["webhook_url"]) == (
        "romashka_sales_bot",
        "telegram",
        f"{PUBLIC_URL}/api/v1/telegram/romashka/webhook",
    )
    bot = TelegramBot.objects.get(pk=body["id"])
    assert bot.token == token and bot.webhook_set_at is not None
    assert [r.method for r in bot_api.requests] == ["getMe", "setWebhook"]
    (hook,) = bot_api.calls("setWebhook")
    assert hook == {
        "url": f"{PUBLIC_URL}/api/v1/telegram/romashka/webhook",
        "secret_token": bot.secret_token,
        "allowed_updates": ["message", "edited_message", "callback_query"],
    }
    assert len(bot.secret_token) >= 32

    listed = api_for(admin_user).get(BOTS).json()["results"]
    assert [b["key"] for b in listed] == ["romashka"] and "token" not in listed[0]
    detail = api_for(admin_user).get(f"{BOTS}/{bot.pk}").json()
    assert detail["username"] == "romashka_sales_bot"


@pytest.mark.django_db
def test_bad_token_is_400_and_nothing_is_saved(api_for, admin_user, bot_api, telegram_settings):
    client = api_for(admin_user)
    wrong = "123456789:AAHwrongwrongwrongwrongwrongwrong12"
    response = client.post(
        BOTS, {"name": "X", "key": "x", "token": wrong, "api_base_url": bot_api.url}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_token" and "@BotFather" in body["errors"]["token"][0]
    response = client.post(
        BOTS, {"name": "X", "key": "x", "token": "hello", "api_base_url": bot_api.url}, format="json"
    )
    assert response.status_code == 400 and "token" in response.json()["errors"]
    assert not TelegramBot.objects.exists()
    assert not bot_api.calls("setWebhook")


@pytest.mark.django_db
def test_refused_webhook_saves_nothing_and_unreachable_server_is_explained(
    api_for, admin_user, bot_api, telegram_settings
):
    client = api_for(admin_user)
    token = bot_api.add_bot()
    bot_api.fail("setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
    response = client.post(
        BOTS, {"name": "X", "key": "x", "token": token, "api_base_url": bot_api.url}, format="json"
    )
    assert response.status_code == 400 and "HTTPS" in response.json()["errors"]["__all__"][0]
    response = client.post(
        BOTS, {"name": "X", "key": "x", "token": token, "api_base_url": "http://127.0.0.1:9"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "bot_api_unreachable"
    assert not TelegramBot.objects.exists()


@pytest.mark.django_db
def test_same_key_or_token_twice_is_a_conflict(api_for, admin_user, telegram_bot, bot_api):
    client = api_for(admin_user)
    other = bot_api.add_bot("another_bot")
    response = client.post(
        BOTS, {"name": "Y", "key": "sales", "token": other, "api_base_url": bot_api.url}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "key_taken"
    response = client.post(
        BOTS,
        {"name": "Y", "key": "y", "token": telegram_bot.token, "api_base_url": bot_api.url},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "bot_taken"


@pytest.mark.django_db
def test_only_admins_manage_bots(api_for, manager, telegram_bot):
    assert api_for(None).get(BOTS).status_code == 401
    assert api_for(manager).get(BOTS).status_code == 403
    assert api_for(manager).delete(f"{BOTS}/{telegram_bot.pk}").status_code == 403
    assert TelegramBot.objects.exists()


@pytest.mark.django_db
def test_patch_switching_off_and_on_and_delete(api_for, admin_user, telegram_bot, bot_api):
    client = api_for(admin_user)
    url = f"{BOTS}/{telegram_bot.pk}"
    response = client.patch(url, {"name": "Продажи", "is_active": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Продажи" and response.json()["is_active"] is False
    assert len(bot_api.calls("deleteWebhook")) == 1
    response = client.patch(url, {"is_active": True, "version": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "stale_version"
    response = client.patch(url, {"is_active": True}, format="json")
    assert response.status_code == 200 and len(bot_api.calls("setWebhook")) == 2
    assert client.patch(url, {"key": "other"}, format="json").status_code == 400

    new_token = bot_api.add_bot("renamed_bot")
    response = client.patch(url, {"token": new_token}, format="json")
    assert response.json()["username"] == "renamed_bot"
    assert bot_api.requests[-1].token == new_token and bot_api.requests[-1].method == "setWebhook"

    assert client.delete(url).status_code == 204
    assert not TelegramBot.objects.exists()
    assert bot_api.requests[-1].method == "deleteWebhook"

    # The change log tells who did what to the bot, but never its token or webhook secret.
    log = ObjectChange.objects.filter(content_type__model="telegrambot")
    assert set(log.values_list("action", flat=True)) == {"create", "update", "delete"}
    dumped = json.dumps(list(log.values_list("changes", flat=True)))
    assert new_token not in dumped and telegram_bot.token not in dumped
    assert telegram_bot.secret_token not in dumped and "secret_token" not in dumped


# --- replies -----------------------------------------------------------------------------------


@pytest.fixture
def client_in_telegram(telegram_bot, deliver, manager):
    """A client who wrote to the bot; the manager is responsible for them."""
    deliver(telegram_bot, private_update(chat_id=422110, text="Пришлите прайс, пожалуйста"))
    message = Interaction.objects.get(direction="in")
    contact = message.contact
    contact.responsible = manager
    contact.save()
    return contact


@pytest.mark.django_db
def test_reply_from_the_crm_goes_to_the_chat_and_lands_on_the_timeline(
    api_for, manager, client_in_telegram, bot_api
):
    contact = client_in_telegram
    response = api_for(manager).post(
        f"/api/v1/contacts/{contact.pk}/telegram", {"text": "Добрый день! Прайс во вложении."}, format="json"
    )
    assert response.status_code == 201, response.content
    sent = bot_api.calls("sendMessage")[-1]
    assert sent["chat_id"] == 422110 and sent["text"] == "Добрый день! Прайс во вложении."
    body = response.json()
    assert (body["channel"], body["direction"], body["contact"]) == ("telegram", "out", contact.pk)

    reply = Interaction.objects.get(pk=body["id"])
    assert reply.provider == "telegram:sales" and reply.user == manager
    assert reply.external_id.startswith("422110:")
    items = timeline(user=manager, contact=contact, channels=["telegram"])
    assert items[0].obj == reply and items[0].direction == "out"
    assert any(item.direction == "in" for item in items)
    # The client's message counts as answered.
    assert not Interaction.objects.filter(direction="in", handled_at__isnull=True).exists()


@pytest.mark.django_db
def test_reply_to_a_client_who_blocked_the_bot_is_a_clear_400(api_for, manager, client_in_telegram, bot_api):
    bot_api.blocked_chats.add(422110)
    before = Interaction.objects.count()
    response = api_for(manager).post(
        f"/api/v1/contacts/{client_in_telegram.pk}/telegram", {"text": "Алло"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "telegram_blocked" and response.json()["errors"]["text"]
    assert Interaction.objects.count() == before


@pytest.mark.django_db
def test_reply_needs_text_and_a_chat(api_for, manager, client_in_telegram, telegram_bot):
    client = api_for(manager)
    url = f"/api/v1/contacts/{client_in_telegram.pk}/telegram"
    assert client.post(url, {"text": "   "}, format="json").json()["errors"]["text"]
    stranger = ContactFactory(full_name="Без Telegram", responsible=manager)
    IdentityFactory(contact=stranger, kind="telegram", value="@no_chat_yet")
    response = client.post(f"/api/v1/contacts/{stranger.pk}/telegram", {"text": "Привет"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "no_telegram_chat"


@pytest.mark.django_db
def test_contact_out_of_scope_is_404(api_for, other_manager, client_in_telegram, bot_api):
    response = api_for(other_manager).post(
        f"/api/v1/contacts/{client_in_telegram.pk}/telegram", {"text": "Привет"}, format="json"
    )
    assert response.status_code == 404
    assert len(bot_api.calls("sendMessage")) == 1  # only the bot's own phone request


@pytest.mark.django_db
def test_telegram_failure_is_shown_on_the_bot_and_nothing_is_recorded(
    api_for, manager, client_in_telegram, telegram_bot, bot_api
):
    bot_api.fail("sendMessage", 502, "Bad Gateway")
    before = Interaction.objects.count()
    response = api_for(manager).post(
        f"/api/v1/contacts/{client_in_telegram.pk}/telegram", {"text": "Алло"}, format="json"
    )
    assert response.status_code == 400 and "Bad Gateway" in response.json()["errors"]["text"][0]
    assert Interaction.objects.count() == before
    telegram_bot.refresh_from_db()
    assert telegram_bot.last_error == "Bad Gateway"

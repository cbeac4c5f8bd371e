"""Telegram bots: registration with the Bot API, what follows an incoming message, replies from the CRM."""

from __future__ import annotations

import logging
import mimetypes
import posixpath
import re
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from otdel.comms.models import Attachment, Direction, Interaction, InteractionKind, TelegramBot
from otdel.comms.services import InboundEvent, ingest_event, interaction_mark_handled, open_deal
from otdel.comms.telegram import tasks
from otdel.comms.telegram.botapi import DEFAULT_API_BASE_URL, BotApi, BotApiError
from otdel.comms.telegram.parse import (
    message_file,
    now_or,
    provider_for,
    shared_own_phone,
    telegram_consent_text,
)
from otdel.core.context import acting_as
from otdel.core.events import InteractionReceived, subscribe
from otdel.core.exceptions import ConflictError, field_error
from otdel.crm.models import Contact, Identity, Lead, Verdict
from otdel.crm.selectors import contact_by_identity
from otdel.crm.services import contact_merge, identity_add
from otdel.privacy.models import ConsentMethod, ConsentText, PrivacySettings
from otdel.privacy.services import consent_record
from otdel.routing.models import Queue
from otdel.routing.nontarget import keeps_away_from_sales
from otdel.routing.selectors import queue_by_code
from otdel.routing.triage import lead_triage

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# "telegram:" + key must fit Interaction.provider and IntakeLog.provider (64 characters).
KEY_MAX_LENGTH = 55
MESSAGE_MAX_LENGTH = 4096  # Bot API limit for sendMessage text
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_CHAT_ID_RE = re.compile(r"^-?\d+$")


def bot_api(bot: TelegramBot) -> BotApi:
    return BotApi(bot.token, bot.api_base_url or DEFAULT_API_BASE_URL)


def telegram_webhook_url(bot: TelegramBot) -> str:
    """Where Telegram posts this bot's updates: the public address of this Otdel + the bot's key."""
    base = str(getattr(settings, "OTDEL_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")
    return f"{base}/api/v1/telegram/{bot.key}/webhook"


# --- bot registration ------------------------------------------------------------------------


def _clean_api_base_url(value: str | None) -> str:
    url = (value or "").strip().rstrip("/") or DEFAULT_API_BASE_URL
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise field_error(
            "api_base_url", _("Enter the Bot API server address, e.g. https://api.telegram.org.")
        )
    return url


def _clean_token(value: str | None) -> str:
    token = (value or "").strip()
    if not _TOKEN_RE.match(token):
        raise field_error(
            "token",
            _("This does not look like a bot token. @BotFather gives one like 123456789:AAH…"),
            "invalid_token",
        )
    return token


def _token_taken(token: str, *, exclude: int | None = None) -> None:
    others = TelegramBot.objects.filter(token=token)
    other = (others.exclude(pk=exclude) if exclude is not None else others).first()
    if other is not None:
        raise ConflictError(
            _("This bot is already registered as “%(name)s”.") % {"name": other.name},
            code="bot_taken",
            field="token",
        )


def _bot_api_error(exc: BotApiError, *, field: str = "token") -> ValidationError:
    """A Bot API failure during setup, in words the administrator can act on."""
    if exc.unreachable:
        return field_error(
            "api_base_url",
            _("Cannot reach the Bot API server: %(reason)s") % {"reason": exc.description},
            "bot_api_unreachable",
        )
    if exc.code in (401, 404) and field == "token":
        return field_error(
            "token",
            _("Telegram does not accept this token (%(reason)s). Copy it again from @BotFather.")
            % {"reason": exc.description},
            "invalid_token",
        )
    return field_error(
        field, _("Telegram refused: %(reason)s") % {"reason": exc.description}, "bot_api_error"
    )


def _check_token(api: BotApi) -> dict[str, Any]:
    try:
        me = api.get_me()
    except BotApiError as exc:
        raise _bot_api_error(exc) from exc
    if not isinstance(me, dict) or not me.get("is_bot"):
        raise field_error("token", _("This token does not belong to a bot."), "invalid_token")
    return me


def _set_webhook(bot: TelegramBot) -> None:
    try:
        bot_api(bot).set_webhook(
            url=telegram_webhook_url(bot), secret_token=bot.secret_token, allowed_updates=ALLOWED_UPDATES
        )
    except BotApiError as exc:
        raise _bot_api_error(exc, field="__all__") from exc
    bot.webhook_set_at = timezone.now()
    bot.last_error = ""


def telegram_bot_create(
    *,
    actor: Any,
    name: str,
    key: str,
    token: str,
    queue: str | Queue | None = None,
    api_base_url: str | None = None,
) -> TelegramBot:
    """Register a bot: check the token with getMe, point its webhook here; nothing is saved on failure.

    Not one transaction on purpose: the Bot API calls may take seconds and must not hold the
    database's write lock; the row is written only after Telegram said yes.
    """
    bot = TelegramBot(
        name=(name or "").strip(),
        key=(key or "").strip(),
        token=_clean_token(token),
        api_base_url=_clean_api_base_url(api_base_url),
        queue=queue_by_code(queue),
        secret_token=secrets.token_urlsafe(32),
    )
    if len(bot.key) > KEY_MAX_LENGTH:
        raise field_error("key", _("At most %(n)s characters.") % {"n": KEY_MAX_LENGTH})
    bot.full_clean(exclude=["username"], validate_unique=False)
    if TelegramBot.objects.filter(key=bot.key).exists():
        raise ConflictError(_("Another bot already uses this URL key."), code="key_taken", field="key")
    _token_taken(bot.token)
    me = _check_token(bot_api(bot))
    bot.username = str(me.get("username") or "")[:64]
    _set_webhook(bot)
    try:
        with transaction.atomic(), acting_as(actor):
            bot.save()
    except IntegrityError as exc:  # the same key registered a moment ago by someone else
        raise ConflictError(
            _("Another bot already uses this URL key."), code="key_taken", field="key"
        ) from exc
    logger.info(
        "telegram bot %s (@%s) registered, webhook %s", bot.key, bot.username, telegram_webhook_url(bot)
    )
    return bot


BOT_UPDATE_FIELDS = {"name", "token", "queue", "api_base_url", "is_active"}


def telegram_bot_update(
    *, actor: Any, bot: TelegramBot, expected_version: int | None = None, **fields: Any
) -> TelegramBot:
    """Change a bot; a new token or server is checked with getMe and gets the webhook again.

    Switching a bot off removes its webhook (Telegram then keeps updates for a day); switching it
    on sets it again. The URL key is part of the webhook URL and of every message's id: it stays.
    """
    if "key" in fields and fields["key"] != bot.key:
        raise field_error(
            "key", _("The URL key cannot be changed; register a new bot instead."), "key_readonly"
        )
    fields.pop("key", None)
    unknown = set(fields) - BOT_UPDATE_FIELDS
    if unknown:
        raise field_error(sorted(unknown)[0], _("This field cannot be changed."))
    if expected_version is not None and int(expected_version) != bot.version:
        raise ConflictError(
            _("This bot was changed by someone else meanwhile. Reload it and try again."),
            code="stale_version",
        )
    was_active, old_token, old_base = bot.is_active, bot.token, bot.api_base_url
    if "name" in fields:
        bot.name = (fields["name"] or "").strip()
    if "queue" in fields:
        bot.queue = queue_by_code(fields["queue"])
    if "token" in fields:
        bot.token = _clean_token(fields["token"])
        _token_taken(bot.token, exclude=bot.pk)
    if "api_base_url" in fields:
        bot.api_base_url = _clean_api_base_url(fields["api_base_url"])
    if "is_active" in fields:
        bot.is_active = bool(fields["is_active"])
    bot.full_clean(validate_unique=False)
    connection_changed = (bot.token, bot.api_base_url) != (old_token, old_base)
    if connection_changed:
        bot.username = str(_check_token(bot_api(bot)).get("username") or "")[:64]
    if bot.is_active and (connection_changed or not was_active):
        _set_webhook(bot)
    elif was_active and not bot.is_active:
        try:
            bot_api(bot).delete_webhook()
        except BotApiError as exc:
            # A revoked token must not keep a bot switched on; the admin sees why in last_error.
            logger.warning("deleteWebhook for telegram bot %s failed: %s", bot.key, exc.description)
            bot.last_error = _("Could not remove the webhook: %(reason)s") % {"reason": exc.description}
        bot.webhook_set_at = None
    with transaction.atomic(), acting_as(actor):
        bot.save()
    return bot


def telegram_bot_webhook_set(*, actor: Any, bot: TelegramBot) -> TelegramBot:
    """Point the webhook here again, e.g. after the public address of this Otdel changed."""
    if not bot.is_active:
        raise field_error("is_active", _("Switch the bot on first."), "bot_inactive")
    _set_webhook(bot)
    with transaction.atomic(), acting_as(actor):
        bot.save(update_fields=["webhook_set_at", "last_error", "updated_at", "version"])
    return bot


def telegram_bot_delete(*, actor: Any, bot: TelegramBot) -> None:
    """Remove the webhook (best effort: a revoked token must not keep the bot here) and the bot."""
    try:
        bot_api(bot).delete_webhook()
    except BotApiError as exc:
        logger.warning("deleteWebhook for telegram bot %s failed: %s", bot.key, exc.description)
    with transaction.atomic(), acting_as(actor):
        bot.delete()


# --- sending ---------------------------------------------------------------------------------


def _send_error(exc: BotApiError) -> ValidationError:
    if exc.unreachable:
        message, code = _("Cannot reach Telegram (%(reason)s). Try again later."), "telegram_unreachable"
    elif exc.code == 403:
        message = _("The client has blocked the bot or deleted the chat; reach them another way.")
        code = "telegram_blocked"
    elif exc.code == 401:
        message = _("Telegram no longer accepts this bot's token; an administrator must update it.")
        code = "telegram_token"
    elif exc.code == 429:
        message = _("Telegram asks to slow down; try again in %(seconds)s s.")
        code = "telegram_rate_limited"
    else:
        message, code = _("Telegram refused the message: %(reason)s"), "telegram_refused"
    return field_error("text", message % {"reason": exc.description, "seconds": exc.retry_after or 1}, code)


def _bot_send(
    *,
    bot: TelegramBot,
    chat_id: str,
    text: str,
    actor: Any = None,
    reply_markup: dict[str, Any] | None = None,
) -> Interaction:
    """Send through the Bot API, then record what was sent on the client's timeline (outbound)."""
    try:
        sent = bot_api(bot).send_message(chat_id=int(chat_id), text=text, reply_markup=reply_markup)
    except BotApiError as exc:
        logger.warning("sendMessage by telegram bot %s failed: %s %s", bot.key, exc.code, exc.description)
        if exc.unreachable or exc.code == 401 or (exc.code or 0) >= 500:
            # A fault of the bot or of Telegram, not of this one chat: show it on the bot's settings.
            TelegramBot.objects.filter(pk=bot.pk).update(last_error=exc.description[:2000])
        raise _send_error(exc) from exc
    if not isinstance(sent, dict) or not isinstance(sent.get("message_id"), int):
        raise field_error("text", _("Telegram did not confirm the message."), "telegram_refused")
    result = ingest_event(
        InboundEvent(
            provider=provider_for(bot.key),
            external_id=f"{chat_id}:{sent['message_id']}",
            kind=InteractionKind.MESSAGE,
            channel="telegram",
            direction=Direction.OUT,
            occurred_at=now_or(sent.get("date")),
            identity_kind="telegram",
            identity_value=str(chat_id),
            body=text,
            summary=text[:500],
            payload={"sent": sent},
            employee=actor if getattr(actor, "pk", None) else None,
            create_lead=False,
        )
    )
    return result.interaction


def _survivor(contact: Contact) -> Contact:
    while contact.merged_into_id is not None:
        contact = Contact.objects.get(pk=contact.merged_into_id)
    return contact


def _last_telegram_interaction(identity: Identity) -> Interaction | None:
    return (
        Interaction.objects.filter(identity=identity, provider__startswith="telegram:")
        .order_by("-occurred_at", "-id")
        .first()
    )


def telegram_send(*, actor: Any, contact: Contact, text: str, bot: TelegramBot | None = None) -> Interaction:
    """Write to the client in Telegram through the bot they last talked to; the reply lands on the timeline.

    A bot can only write to people who wrote to it first, so the client needs a Telegram chat id.
    The client's unanswered Telegram messages count as answered by ``actor``.
    """
    text = (text or "").strip()
    if not text:
        raise field_error("text", _("Write the message."), "required")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise field_error("text", _("Telegram takes at most %(n)s characters.") % {"n": MESSAGE_MAX_LENGTH})
    contact = _survivor(contact)
    chats = [i for i in contact.identities.filter(kind="telegram") if _CHAT_ID_RE.match(i.value)]
    if not chats:
        raise field_error(
            "text",
            _(
                "This client has not written to our Telegram bot yet; a bot can only answer people who wrote first."
            ),
            "no_telegram_chat",
        )
    # The chat (and bot) of the latest conversation.
    latest = [(_last_telegram_interaction(i), i) for i in chats]
    latest.sort(key=lambda pair: (1, pair[0].occurred_at.timestamp(), pair[0].pk) if pair[0] else (0, 0.0, 0))
    last, identity = latest[-1]
    if bot is None and last is not None:
        bot = TelegramBot.objects.filter(key=last.provider.split(":", 1)[1]).first()
    if bot is None:
        active = list(TelegramBot.objects.filter(is_active=True)[:2])
        bot = active[0] if len(active) == 1 else None
    if bot is None:
        raise field_error("text", _("No Telegram bot has talked to this client."), "no_telegram_bot")
    if not bot.is_active:
        raise field_error(
            "text", _("The bot “%(name)s” is switched off.") % {"name": bot.name}, "bot_inactive"
        )
    interaction = _bot_send(bot=bot, chat_id=identity.value, text=text, actor=actor)
    if getattr(actor, "pk", None):
        waiting = Interaction.objects.filter(
            Q(contact=contact) | Q(contact__merged_into=contact),
            channel="telegram",
            direction=Direction.IN,
            handled_at__isnull=True,
        )
        for row in waiting:
            interaction_mark_handled(actor=actor, interaction=row)
    return interaction


# --- after an incoming message ---------------------------------------------------------------


def _message_of(interaction: Interaction) -> dict[str, Any] | None:
    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    for field in ("message", "edited_message"):
        if isinstance(payload.get(field), dict):
            return payload[field]
    return None


def _bot_of(interaction: Interaction) -> TelegramBot | None:
    if not interaction.provider.startswith("telegram:"):
        return None
    return TelegramBot.objects.filter(key=interaction.provider.split(":", 1)[1]).first()


def _client_language(message: dict[str, Any]) -> str:
    """Answer in the client's Telegram language when Otdel speaks it, else in the department's."""
    code = str((message.get("from") or {}).get("language_code") or "").split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _consent_shown_in_chat(interaction: Interaction) -> ConsentText | None:
    """Which version of the consent wording the bot sent to this chat before the phone was shared."""
    chat = str((_message_of(interaction) or {}).get("chat", {}).get("id", ""))
    if not chat:
        return None
    prompts = Interaction.objects.filter(
        provider=interaction.provider,
        direction=Direction.OUT,
        external_id__startswith=f"{chat}:",
        occurred_at__lte=interaction.occurred_at,
    ).order_by("-occurred_at", "-pk")[:5]
    purpose = PrivacySettings.load().telegram_consent_purpose
    if purpose is None:
        return None
    texts = list(purpose.texts.order_by("-version"))
    for prompt in prompts:
        for text in texts:
            if text.text and text.text in (prompt.body or ""):
                return text
    return None


def _should_ask_phone(interaction: Interaction) -> bool:
    """Only a client without a phone on the card, and only once: on their first message to us."""
    contact = interaction.contact
    if contact is None or interaction.identity_id is None or keeps_away_from_sales(contact):
        return False
    if Identity.objects.filter(contact=contact, kind="phone").exists():
        return False
    return not (
        Interaction.objects.filter(
            identity_id=interaction.identity_id, direction=Direction.IN, provider__startswith="telegram:"
        )
        .exclude(pk=interaction.pk)
        .exists()
    )


def telegram_bot_say(*, interaction: Interaction, what: str) -> Interaction | None:
    """The bot's own messages in a chat: ask for the phone with a button, or thank and hide the button."""
    bot, message = _bot_of(interaction), _message_of(interaction)
    if bot is None or message is None or not bot.is_active:
        return None
    with translation.override(_client_language(message)):
        if what == "ask_phone":
            text = _(
                "Thank you for your message! Please share your phone number so that we can help you faster."
            )
            consent = telegram_consent_text()
            if consent is not None:
                # The wording is sent whole: the person's "share" is their consent to exactly this.
                text += "\n\n" + _(
                    "By sharing your phone number you agree to the processing of your personal data:"
                )
                text += f"\n\n«{consent.purpose.title}»\n{consent.text}"
            markup: dict[str, Any] = {
                "keyboard": [[{"text": _("Share my phone number"), "request_contact": True}]],
                "one_time_keyboard": True,
                "resize_keyboard": True,
            }
        elif what == "phone_received":
            text = _("Thank you, we have got your number.")
            markup = {"remove_keyboard": True}
        else:
            raise ValueError(what)
        return _bot_send(bot=bot, chat_id=str(message["chat"]["id"]), text=text, reply_markup=markup)


@transaction.atomic
def telegram_phone_shared(*, interaction: Interaction, phone: str) -> Contact:
    """The client shared their own phone: the Telegram chat joins the contact that has this phone.

    A contact already holding the phone absorbs the Telegram-only contact (identities, leads, deals,
    notes; the old row stays as a tombstone and its timeline shows on the survivor). Otherwise the
    phone is added to the Telegram contact.
    """
    contact = _survivor(interaction.contact) if interaction.contact is not None else None
    if contact is None:
        raise field_error("contact", _("The message has no contact."))
    holder = contact_by_identity(kind="phone", value=phone)
    if holder is None:
        identity_add(actor=None, contact=contact, kind="phone", value=phone)
        return contact
    if holder.pk == contact.pk:
        return contact
    chat_leads = list(contact.leads.filter(verdict="").exclude(status=Lead.Status.CLOSED))
    merged = contact_merge(actor=None, source=contact, target=holder)
    logger.info("telegram chat of contact #%s merged into #%s by a shared phone", contact.pk, holder.pk)
    if not keeps_away_from_sales(merged):  # a non-target survivor has closed them already
        _fold_into_open_work(contact=merged, chat_leads=chat_leads)
    return merged


def _fold_into_open_work(*, contact: Contact, chat_leads: list[Lead]) -> None:
    """The chat's own leads existed only because we did not know who wrote; the person has open work.

    Their messages join the open deal (or the open lead) of the contact, as a repeat inquiry would,
    the messages nobody answered go to whoever owns that work, and the chat's leads close as
    duplicates of the contact (audited, nothing deleted).
    """
    chat_ids = [lead.pk for lead in chat_leads]
    deal = open_deal(contact)
    lead = (
        contact.leads.exclude(status=Lead.Status.CLOSED)
        .exclude(pk__in=chat_ids)
        .order_by("-created_at")
        .first()
    )
    if deal is None and lead is None:
        return
    owner = deal.responsible if deal is not None else lead.responsible if lead is not None else None
    moved = Interaction.objects.filter(lead_id__in=chat_ids)
    if owner is not None:
        moved.filter(direction=Direction.IN, handled_at__isnull=True).update(routed_to=owner)
    moved.update(lead=lead if deal is None else None, deal=deal, updated_at=timezone.now())
    for chat_lead in Lead.objects.filter(pk__in=chat_ids).select_related("contact"):  # moved by the merge
        lead_triage(actor=None, lead=chat_lead, verdict=Verdict.DUPLICATE, duplicate_of=contact)


@subscribe(InteractionReceived)
def telegram_interaction_created(event: InteractionReceived) -> None:
    interaction_id = event.interaction_id
    """After an incoming Telegram message is stored: fetch its file, merge by a shared phone, ask for it."""
    interaction = Interaction.objects.select_related("contact").filter(pk=interaction_id).first()
    if (
        interaction is None
        or interaction.direction != Direction.IN
        or not interaction.provider.startswith("telegram:")
    ):
        return
    message = _message_of(interaction)
    if message is None:
        return

    if message_file(message) is not None:
        tasks.telegram_file_fetch.enqueue(interaction.pk)
    phone = shared_own_phone(message)
    if phone and telegram_consent_text() is not None:
        shown = _consent_shown_in_chat(interaction)
        if shown is None:
            # Shared before the bot showed the consent: the phone is not kept; show it, ask again.
            tasks.telegram_bot_say.enqueue(interaction.pk, "ask_phone")
            return
        contact = telegram_phone_shared(interaction=interaction, phone=phone)
        consent_record(
            contact=contact,
            purpose=shown.purpose,
            text=shown,
            given_at=interaction.occurred_at,
            source=interaction.provider[:120],
            interaction=interaction,
            method=ConsentMethod.TELEGRAM,
        )
        tasks.telegram_bot_say.enqueue(interaction.pk, "phone_received")
    elif phone:
        telegram_phone_shared(interaction=interaction, phone=phone)
        tasks.telegram_bot_say.enqueue(interaction.pk, "phone_received")
    elif _should_ask_phone(interaction):
        tasks.telegram_bot_say.enqueue(interaction.pk, "ask_phone")


# --- files -----------------------------------------------------------------------------------


def telegram_file_fetch(*, interaction: Interaction) -> Attachment | None:
    """Download the file of an incoming message into an Attachment (once); BotApiError on failure."""
    existing = interaction.attachments.first()
    if existing is not None:
        return existing
    message = _message_of(interaction)
    file = message_file(message) if message is not None else None
    if file is None:
        return None
    bot = _bot_of(interaction)
    if bot is None:
        raise BotApiError(_("the bot of this message is no longer registered"), code=410)
    api = bot_api(bot)
    info = api.get_file(file.file_id)
    path = str((info or {}).get("file_path") or "")
    if not path:
        # getFile gives no path for files over the cloud Bot API's 20 MB download limit.
        raise BotApiError(_("Telegram gives no download link for this file (too big?)"), code=413)
    data = api.download(path)
    name = file.filename
    if not posixpath.splitext(name)[1] and posixpath.splitext(path)[1]:
        name += posixpath.splitext(path)[1]
    content_type = file.content_type
    if content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(name)[0] or content_type
    attachment = Attachment(interaction=interaction, filename=name, content_type=content_type, size=len(data))
    attachment.file.save(name, ContentFile(data), save=False)
    attachment.save()
    return attachment

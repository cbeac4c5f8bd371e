"""Telegram updates -> InboundEvents: private chats only, text or caption, files, a shared own phone."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.comms.intake import IntakeError, register_parser
from otdel.comms.models import Direction, InteractionKind, TelegramBot
from otdel.comms.services import InboundEvent
from otdel.core.identity import format_phone, normalize_phone
from otdel.privacy.models import ConsentText, PrivacySettings

# The stored intake body: the update exactly as Telegram sent it, plus the key of the bot it came to
# (a registered parser gets only the payload, and the update itself does not say which bot it is for).
BOT_FIELD = "bot"
UPDATE_FIELD = "update"


def provider_for(bot_key: str) -> str:
    return f"telegram:{bot_key}"


def webhook_payload(bot_key: str, update: Any) -> dict[str, Any]:
    return {BOT_FIELD: bot_key, UPDATE_FIELD: update}


@dataclass(frozen=True)
class TelegramFile:
    file_id: str
    filename: str
    content_type: str
    size: int | None


def message_file(message: dict[str, Any]) -> TelegramFile | None:
    """The one file a message carries (Telegram sends an album as separate messages), or None."""
    mid = message.get("message_id", "")
    photos = message.get("photo")
    if isinstance(photos, list) and photos:
        # Telegram lists the same photo in several sizes; keep the largest.
        sizes = [p for p in photos if isinstance(p, dict) and p.get("file_id")]
        if sizes:
            best = max(sizes, key=lambda p: (p.get("width", 0) * p.get("height", 0), p.get("file_size", 0)))
            return TelegramFile(str(best["file_id"]), f"photo-{mid}.jpg", "image/jpeg", best.get("file_size"))
    defaults = {
        "document": ("file-{mid}", "application/octet-stream"),
        "voice": ("voice-{mid}.ogg", "audio/ogg"),
        "video": ("video-{mid}.mp4", "video/mp4"),
        "video_note": ("video-note-{mid}.mp4", "video/mp4"),
        "audio": ("audio-{mid}.mp3", "audio/mpeg"),
    }
    for field, (default_name, default_type) in defaults.items():
        media = message.get(field)
        if isinstance(media, dict) and media.get("file_id"):
            name = str(media.get("file_name") or default_name.format(mid=mid))
            # A file name from a client's phone must not steer where we store it.
            name = re.sub(r"[\\/\x00-\x1f]", "_", name).strip(". ") or default_name.format(mid=mid)
            return TelegramFile(
                str(media["file_id"]),
                name[:200],
                str(media.get("mime_type") or default_type),
                media.get("file_size"),
            )
    return None


def shared_own_phone(message: dict[str, Any]) -> str | None:
    """The phone (E.164) a person shared with the "share phone" button: only their own number counts.

    Someone forwarding another person's contact card proves nothing about who they are.
    """
    contact = message.get("contact")
    sender = message.get("from")
    if not isinstance(contact, dict) or not isinstance(sender, dict):
        return None
    if contact.get("user_id") is None or contact.get("user_id") != sender.get("id"):
        return None
    raw = str(contact.get("phone_number") or "").strip()
    # Telegram sends the full international number, with or without the plus.
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    try:
        return normalize_phone("+" + digits)
    except ValidationError:
        return None


def _person_name(person: dict[str, Any]) -> str:
    name = " ".join(str(person.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    if not name and person.get("username"):
        name = "@" + str(person["username"])
    return name


def _summary(message: dict[str, Any], body: str, file: TelegramFile | None) -> str:
    if body:
        return body[:500]
    if "photo" in message:
        return _("[Photo]")
    if file is not None:
        return _("[File: %(name)s]") % {"name": file.filename}
    if isinstance(message.get("sticker"), dict):
        return _("[Sticker %(emoji)s]") % {"emoji": message["sticker"].get("emoji") or ""}
    if isinstance(message.get("location"), dict):
        loc = message["location"]
        return _("[Location %(lat)s, %(lon)s]") % {"lat": loc.get("latitude"), "lon": loc.get("longitude")}
    return _("[Message]")


def _check_message(message: Any, field: str) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(message, dict):
        raise IntakeError({field: [_("Expected a Message object.")]})
    if not isinstance(message.get("message_id"), int):
        errors[f"{field}.message_id"] = [_("An integer is required.")]
    if not isinstance(message.get("date"), int):
        errors[f"{field}.date"] = [_("A Unix time (integer) is required.")]
    chat = message.get("chat")
    if (
        not isinstance(chat, dict)
        or not isinstance(chat.get("id"), int)
        or not isinstance(chat.get("type"), str)
    ):
        errors[f"{field}.chat"] = [_("A chat with an integer id and a type is required.")]
    sender = message.get("from")
    if sender is not None and (not isinstance(sender, dict) or not isinstance(sender.get("id"), int)):
        errors[f"{field}.from"] = [_("A user with an integer id is required.")]
    if errors:
        raise IntakeError(errors)


def telegram_consent_text() -> ConsentText | None:
    """The wording the bot shows before it keeps a shared phone (Privacy settings), if any."""
    purpose = PrivacySettings.load().telegram_consent_purpose
    if purpose is None or not purpose.is_active:
        return None
    return purpose.current_text


def message_event(bot: TelegramBot, message: dict[str, Any]) -> InboundEvent | None:
    """One client's message in a private chat as an InboundEvent; None for what we don't keep."""
    chat = message["chat"]
    sender = message.get("from") or {}
    # Groups, supergroups and channels are not one client talking to us; bots are not clients.
    if chat["type"] != "private" or sender.get("is_bot"):
        return None
    chat_id = chat["id"]
    body = str(message.get("text") or message.get("caption") or "")
    if body.startswith("/start "):
        from otdel.automation.delivery import telegram_link_claim

        if telegram_link_claim(bot=bot, chat_id=chat_id, text=body):
            return None  # an employee linking their chat for notifications, not a client
    file = message_file(message)
    extra: list[tuple[str, str]] = []
    if sender.get("username"):
        # Lets a contact whose @username a manager typed into the card be found on first contact.
        extra.append(("telegram", "@" + str(sender["username"])))
    phone = shared_own_phone(message)
    shared = message.get("contact") if isinstance(message.get("contact"), dict) else None
    # Only the "share my phone" button or the bot's start command: the app spoke, not the person.
    system = (not body and file is None and phone is not None) or body.strip().split("@", 1)[0] == "/start"
    if phone:
        # With a consent to ask for, the phone is kept only once the consent is given (services).
        if telegram_consent_text() is None:
            extra.append(("phone", phone))
        body = body or _("Shared their phone number: %(phone)s") % {"phone": format_phone(phone)}
    elif shared is not None:
        body = body or _("Shared a contact: %(name)s, %(phone)s") % {
            "name": _person_name(shared),
            "phone": shared.get("phone_number") or "",
        }
    return InboundEvent(
        provider=provider_for(bot.key),
        external_id=f"{chat_id}:{message['message_id']}",
        kind=InteractionKind.MESSAGE,
        channel="telegram",
        direction=Direction.IN,
        occurred_at=datetime.datetime.fromtimestamp(message["date"], tz=datetime.UTC),
        identity_kind="telegram",
        identity_value=str(chat_id),
        extra_identities=extra,
        contact_name=_person_name(sender) or _person_name(chat),
        body=body,
        summary=_summary(message, body, file),
        awaits_reply=not system,
        queue=bot.queue,
    )


@register_parser("telegram")
def parse_update(payload: dict[str, Any], provider: str = "telegram") -> list[InboundEvent]:
    """A stored webhook delivery (see ``webhook_payload``) -> zero or one InboundEvent.

    ``edited_message`` carries the same chat and message id as the original, so it lands on the
    same interaction (the first text is kept; the edit is kept in its payload history).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get(UPDATE_FIELD), dict):
        raise IntakeError(_("Send a Telegram Update object."))
    bot = TelegramBot.objects.select_related("queue").filter(key=payload.get(BOT_FIELD)).first()
    if bot is None:
        raise IntakeError({"bot": [_("Unknown bot.")]}, code="unknown_bot")
    update = payload[UPDATE_FIELD]
    if not isinstance(update.get("update_id"), int):
        raise IntakeError({"update_id": [_("An integer is required.")]})
    for field in ("message", "edited_message"):
        if field in update:
            _check_message(update[field], field)
            event = message_event(bot, update[field])
            if event is None:
                return []
            event.payload = update
            return [event]
    if "callback_query" in update and not isinstance(update["callback_query"], dict):
        raise IntakeError({"callback_query": [_("Expected a CallbackQuery object.")]})
    # Button presses of inline keyboards (Otdel sends none yet) and other update kinds: nothing to keep.
    return []


def now_or(ts: Any) -> datetime.datetime:
    """A Bot API date (Unix time) as an aware datetime; now when it is missing."""
    if isinstance(ts, int):
        return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    return timezone.now()

"""Normalization of the ways a person reaches us: one real phone or address = one identity value."""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentityKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    VK = "vk", _("VK")
    WEB = "web", _("Web visitor")


# Text that people put around an extension: "доб. 123", "(доб. 123)", "ext 45", "вн. 12", "#12".
_EXTENSION_WORDS = re.compile(
    r"(?i)\(?\s*(доб\.?|добавочный|вн\.?|внутр\.?|extension|ext\.?|x)\s*=?\s*(\d+)\s*\)?\s*$"
)


MAX_EXTENSION_DIGITS = 8
_LETTERS = re.compile(r"[^\W\d_]")


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the phone in E.164 (with ``;ext=N`` when it has an extension) or raise ValidationError.

    Accepts what people type: ``8 (912) 345-67-89``, ``+7 912 345 67 89``, ``9123456789``,
    ``8-800-555-35-35``, ``+44 20 7946 0958``, ``8 495 123-45-67 доб. 123``.
    """
    if raw is None or not str(raw).strip():
        raise ValidationError(_("Enter a phone number."), code="empty")
    key = (str(raw), region or settings.OTDEL_PHONE_REGION)
    found = _PHONES.get(key)
    if found is None:
        found = _normalize_phone(*key)
        if len(_PHONES) >= _PHONES_KEPT:
            _PHONES.clear()
        _PHONES[key] = found
        if ";" not in found:  # its own normal form (what a service gets back from a reader)
            _PHONES[(found, key[1])] = found
    return found


# Normalized phones remembered (a bounded map; an error is not remembered): an import reads a
# row's phones and then hands the normal forms to the CRM service, which normalizes them again.
_PHONES: dict[tuple[str, str], str] = {}
_PHONES_KEPT = 8192


def _normalize_phone(raw: str, region: str) -> str:
    text = raw.strip()
    extension = ""
    match = _EXTENSION_WORDS.search(text)
    if match:
        extension = match.group(2)
        text = text[: match.start()].strip(" ,;")
    if len(extension) > MAX_EXTENSION_DIGITS:
        raise ValidationError(
            _("“%(value)s”: an extension has at most 8 digits."), code="invalid_phone", params={"value": raw}
        )
    # The parser reads letters as keypad digits ("ABC" -> 222): a vanity number or a word left in
    # the field would become some other person's number. Refuse instead (text without any digit is
    # simply not a phone number, said below).
    if _LETTERS.search(re.sub(r"(?i)^tel:", "", text)) and re.search(r"\d", text):
        raise ValidationError(
            _("“%(value)s”: a phone number is digits only (letters are not converted)."),
            code="invalid_phone",
            params={"value": raw},
        )
    digits = re.sub(r"\D", "", text)
    # Russian habits the parser does not know: "8" trunk prefix before 10 digits, or bare 10 digits
    # starting with 9 (mobile) typed without any prefix, or "7XXXXXXXXXX" without the plus.
    if not text.startswith("+") and not text.startswith("00") and region == "RU":
        if len(digits) == 11 and digits[0] in "78":
            text = "+7" + digits[1:]
        elif len(digits) == 10:
            text = "+7" + digits
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid_phone", params={"value": raw}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."),
            code="invalid_phone",
            params={"value": raw},
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    extension = extension or (number.extension or "")
    return f"{e164};ext={extension}" if extension else e164


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    # An address copied from the end of a sentence ("пишите на a@b.ru.") brings the full stop along;
    # no valid address ends with a dot, so dropping it cannot merge two different people.
    value = value.strip().rstrip(".").lower()
    if not value:
        raise ValidationError(_("Enter an e-mail address."), code="empty")
    local, at, domain = value.rpartition("@")
    if at and domain:
        # An international domain is one address whether written in Unicode or in punycode.
        try:
            value = f"{local}@{_unicode_domain(domain)}"
        except UnicodeError as exc:
            raise ValidationError(
                _("“%(value)s” is not a valid e-mail address."),
                code="invalid_email",
                params={"value": raw},
            ) from exc
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid e-mail address."),
            code="invalid_email",
            params={"value": raw},
        ) from exc
    return value


def _unicode_domain(domain: str) -> str:
    """``xn--e1afmkfd.xn--p1ai`` and ``ПРИМЕР.РФ`` -> ``пример.рф`` (UnicodeError if broken)."""
    return domain.encode("idna").decode("ascii").encode("ascii").decode("idna").lower()


# A profile link people paste instead of the handle: https://t.me/name, t.me/name, telegram.me/name.
_TELEGRAM_LINK = re.compile(r"(?i)^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/@?([^/?#\s]+)/?$")


def normalize_telegram(raw: str) -> str:
    value = str(raw or "").strip()
    if value.lstrip("-").isdigit():
        return value
    link = _TELEGRAM_LINK.match(value)
    handle = (link.group(1) if link else value).lstrip("@").lower()
    if re.fullmatch(r"[a-z0-9_]{5,32}", handle):
        return "@" + handle
    raise ValidationError(
        _("“%(value)s” is not a Telegram chat id or username."),
        code="invalid_telegram",
        params={"value": raw},
    )


def normalize_identity(kind: str, raw: str) -> str:
    """The one normalization every channel uses before looking a person up or storing them."""
    if kind == IdentityKind.PHONE or kind == IdentityKind.WHATSAPP:
        return normalize_phone(raw)
    if kind == IdentityKind.EMAIL:
        return normalize_email(raw)
    if kind == IdentityKind.TELEGRAM:
        return normalize_telegram(raw)
    if kind in IdentityKind.values:
        value = str(raw or "").strip()
        if not value:
            raise ValidationError(_("Enter a value."), code="empty")
        return value
    raise ValidationError(_("Unknown identity kind “%(kind)s”."), code="invalid_kind", params={"kind": kind})


def guess_identity(raw: str) -> tuple[str, str] | None:
    """For a search box: what a typed string is, as (kind, normalized value), or None."""
    text = (raw or "").strip()
    if text.lower().startswith("tel:"):  # a link copied from a web page or a signature
        text = text[4:].strip()
    if not text:
        return None
    if "@" in text and " " not in text and not text.startswith("@"):
        try:
            return IdentityKind.EMAIL, normalize_email(text)
        except ValidationError:
            return None
    if sum(ch.isdigit() for ch in text) >= 7 and re.fullmatch(r"[\d\s()+\-.]+(\D{1,12}\d+\)?)?", text):
        try:
            return IdentityKind.PHONE, normalize_phone(text)
        except ValidationError:
            return None
    return None


def format_phone(e164: str) -> str:
    """Display form: ``+7 912 345-67-89`` for Russia, international format elsewhere."""
    base, _sep, ext = e164.partition(";ext=")
    try:
        number = phonenumbers.parse(base, None)
    except phonenumbers.NumberParseException:
        return e164
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{text} {_('ext.')} {ext}" if ext else text

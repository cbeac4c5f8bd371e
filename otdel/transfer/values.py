"""Turning spreadsheet cells into Otdel values: dates, amounts, several phones or e-mails in a cell."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from otdel.core.identity import normalize_email, normalize_phone

EXCEL_EPOCH = datetime.date(1899, 12, 30)
_DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m/%Y", "%Y.%m.%d")
_CURRENCY = re.compile(r"(?i)(руб\.?|р\.|₽|rub|usd|eur|\$|€)")


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d.%m.%Y")
    return str(value).strip()


def parse_date(value: Any) -> datetime.date | None:
    """31.12.2025, 2025-12-31 (with or without a time), an Excel date or its serial number."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(float(value), value)
    raw = str(value).strip()
    if re.fullmatch(r"\d{4,5}(\.\d+)?", raw):
        return _serial(float(raw), raw)
    head = re.split(r"[ T]", raw, maxsplit=1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise ValidationError(
        _("“%(value)s” is not a date; write it as 31.12.2025 or 2025-12-31.") % {"value": raw[:40]},
        code="date",
    )


def _serial(number: float, raw: Any) -> datetime.date:
    if not 1 <= number < 2958466:  # Excel's last day is 31.12.9999
        raise ValidationError(_("“%(value)s” is not a date.") % {"value": raw}, code="date")
    return EXCEL_EPOCH + datetime.timedelta(days=int(number))


def parse_amount(value: Any) -> Decimal | None:
    """1 234 567,89 / 1,234,567.89 / 1.234.567,89 / 1234567.89 / a number cell; never negative."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": value}, code="amount")
    if isinstance(value, (int, float, Decimal)):
        amount = Decimal(str(value))
    else:
        raw = str(value)
        cleaned = (
            _CURRENCY.sub("", raw)
            .replace("\u00a0", "")
            .replace("\u202f", "")
            .replace(" ", "")
            .replace("'", "")
        )
        if "," in cleaned and "." in cleaned:
            decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
            thousands = "." if decimal_sep == "," else ","
            cleaned = cleaned.replace(thousands, "").replace(decimal_sep, ".")
        elif cleaned.count(",") > 1:
            cleaned = cleaned.replace(",", "")
        elif cleaned.count(".") > 1:
            cleaned = cleaned.replace(".", "")
        else:
            cleaned = cleaned.replace(",", ".")
        try:
            amount = Decimal(cleaned)
        except InvalidOperation as exc:
            raise ValidationError(
                _("“%(value)s” is not an amount; write it as 1 234 567,89 or 1234567.89.")
                % {"value": raw[:40]},
                code="amount",
            ) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError(
            _("The amount cannot be negative: “%(value)s”.") % {"value": value}, code="amount"
        )
    if amount >= Decimal("1e14"):
        raise ValidationError(_("The amount “%(value)s” is too large.") % {"value": value}, code="amount")
    return amount.quantize(Decimal("0.01"))


_EXTENSION_START = re.compile(r"(?i)^\(?\s*(доб|вн|ext|extension|x)\b")


def split_phones(value: Any) -> list[str]:
    """ "+7 912 345-67-89, 8 (495) 123-45-67 доб. 12; 89161234567" -> normalized E.164 values."""
    raw = text(value)
    if not raw:
        return []
    parts: list[str] = []
    for piece in re.split(r"[,;\n/]|\s{3,}", raw):
        piece = piece.strip()
        if not piece:
            continue
        if parts and _EXTENSION_START.match(piece):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    result: list[str] = []
    for piece in parts:
        phone = normalize_phone(piece)
        if phone not in result:
            result.append(phone)
    return result


def split_emails(value: Any) -> list[str]:
    raw = text(value)
    result: list[str] = []
    for piece in re.split(r"[,;\s]+", raw):
        if piece.strip():
            email = normalize_email(piece)
            if email not in result:
                result.append(email)
    return result


_NO_VAT = {"без", "безналога", "нет", "не облагается", "необлагается", "none", "no", "novat", "-", "—", "–"}


def parse_vat(value: Any) -> str:
    """A VAT rate as the catalog keeps it: "20", "20 %", "НДС 20%", 0.2 (an Excel percent cell) -> "20";
    "Без НДС", "нет" -> "none". Other text comes back as written, for the catalog to refuse."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = Decimal(str(value))
        number = number * 100 if 0 < number < 1 else number
        return str(int(number)) if number == number.to_integral_value() else str(number)
    raw = text(value)
    squeezed = re.sub(r"\s+|%|ндс|vat", "", raw.lower())
    if not raw:
        return ""
    if squeezed in _NO_VAT:
        return "none"
    try:
        number = Decimal(squeezed.replace(",", "."))
    except InvalidOperation:
        return raw
    return parse_vat(number) if number.is_finite() else raw


_YES = {"да", "д", "yes", "y", "true", "1", "+", "активен", "активный", "active", "вкл", "в продаже"}
_NO = {"нет", "н", "no", "n", "false", "0", "-", "неактивен", "не активен", "inactive", "выкл", "архив"}


def parse_yes_no(value: Any) -> bool | None:
    """да/нет, yes/no, 1/0, +/-, an Excel TRUE/FALSE; empty -> None."""
    if isinstance(value, bool):
        return value
    raw = text(value)
    if not raw:
        return None
    word = raw.lower().replace("ё", "е")
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValidationError(
        _("“%(value)s” is neither yes nor no; write да or нет.") % {"value": raw[:40]}, code="yes_no"
    )

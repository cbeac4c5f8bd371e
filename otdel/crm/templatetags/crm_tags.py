"""Display helpers for CRM pages: money in local format, phones, Bootstrap-styled form fields."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.conf import settings
from django.utils import formats

from otdel.core.identity import format_phone
from otdel.crm.models import NonTargetReason

register = template.Library()

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€"}


def money_text(value: Any, currency: str | None = None) -> str:
    """``1234567.5`` -> ``1 234 567,50 ₽`` (grouping and decimal mark of the active language)."""
    try:
        amount = Decimal(value or 0)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    places = 0 if amount == amount.to_integral_value() else 2
    number = formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    code = currency or settings.OTDEL_DEFAULT_CURRENCY
    return f"{number}\u00a0{CURRENCY_SIGNS.get(code, code)}"


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    return money_text(value, currency)


@register.filter
def phone(value: str) -> str:
    return format_phone(value) if value else ""


@register.filter
def non_target_reason(value: str) -> str:
    """``supplier`` -> "Supplier"; ``other: text`` -> "Other: text" (how lead_triage stores reasons)."""
    code, _sep, rest = (value or "").partition(":")
    label = str(dict(NonTargetReason.choices).get(code.strip(), code))
    return f"{label}: {rest.strip()}" if rest.strip() else label

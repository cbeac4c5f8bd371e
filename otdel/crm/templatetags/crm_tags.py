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


# --- custom fields --------------------------------------------------------------------------


@register.filter
def custom_bound_fields(form: Any) -> list[Any]:
    """The ``custom.<code>`` fields of a form, to render after its own fields."""
    return [form[name] for name in form.fields if name.startswith("custom.")]


@register.inclusion_tag("crm/_custom_fields.html", takes_context=True)
def custom_fields_block(context: Any, record: Any) -> dict[str, Any]:
    """A card's custom fields: their values, and (for who may change the record) an edit form."""
    from otdel.core.scoping import scope
    from otdel.crm.custom import display_value, entity_of
    from otdel.crm.forms import CustomValuesForm

    request = context.get("request")
    user = getattr(request, "user", None)
    form = CustomValuesForm(record=record)
    stored = getattr(record, "custom", None) or {}
    rows = [
        {"field": field, "text": display_value(field, stored.get(field.code))} for field in form.custom_fields
    ]
    may_change = scope(type(record)._default_manager.filter(pk=record.pk), user, "change").exists()
    return {
        "request": request,
        "record": record,
        "entity": entity_of(record),
        "rows": rows,
        "form": form,
        "may_change": may_change,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def custom_columns(entity: str) -> list[Any]:
    """The custom fields shown as columns of a list (``{% custom_columns "deal" as columns %}``)."""
    from otdel.crm.custom import definitions

    return [field for field in definitions(entity) if field.in_list]


@register.simple_tag(takes_context=True)
def custom_cell(context: Any, record: Any, field: Any) -> str:
    """One custom field's value of ``record`` in a list column (people's names read once per page)."""
    from otdel.accounts.models import User
    from otdel.crm.custom import Type, display_value

    users = None
    if field.type == Type.USER:
        users = context.render_context.get("custom_users")
        if users is None:
            users = {u.pk: u.get_full_name() for u in User.objects.all()}
            context.render_context["custom_users"] = users
    return display_value(field, (getattr(record, "custom", None) or {}).get(field.code), users)

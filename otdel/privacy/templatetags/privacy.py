"""``{% privacy_card contact %}``: the consents block of a contact card."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("privacy/_card_block.html", takes_context=True)
def privacy_card(context: Any, contact: Any) -> dict[str, Any]:
    from otdel.privacy.views import card_context

    request = context.get("request")
    data = card_context(contact, getattr(request, "user", None))
    data["csrf_token"] = context.get("csrf_token")
    return data

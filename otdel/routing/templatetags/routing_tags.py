"""Template helpers for the routing partials shown on other apps' pages (the contact card)."""

from __future__ import annotations

from typing import Any

from django import template

from otdel.accounts.permissions import may_handle_non_target, may_overrule_triage
from otdel.crm.models import NonTargetReason

register = template.Library()


@register.simple_tag(takes_context=True)
def non_target_actions(context: Any) -> dict[str, Any]:
    """What the non-target buttons on a contact card may offer the signed-in user."""
    user = context.get("user")
    allowed = user is not None and may_handle_non_target(user)
    return {
        "show": allowed,
        "may_restore": allowed and may_overrule_triage(user),
        "reasons": NonTargetReason.choices,
    }

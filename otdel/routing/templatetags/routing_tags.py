"""Template helpers for the routing partials shown on other apps' pages (the contact card)."""

from __future__ import annotations

from typing import Any

from django import template

from otdel.crm.models import NonTargetReason

register = template.Library()


@register.simple_tag(takes_context=True)
def non_target_actions(context: Any) -> dict[str, Any]:
    """What the non-target buttons on a contact card may offer the signed-in user."""
    from otdel.routing.views import may_handle_non_target, may_restore_target

    user = context.get("user")
    allowed = user is not None and may_handle_non_target(user)
    return {
        "show": allowed,
        "may_restore": allowed and may_restore_target(user),
        "reasons": NonTargetReason.choices,
    }

"""Template helpers of approvals: the count in the top bar, document kinds in words."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from otdel.approvals.selectors import awaiting_count

register = template.Library()

# The kinds the demo templates use; any other kind shows its code.
KIND_LABELS = {
    "contract": _("Contract"),
    "invoice": _("Invoice"),
    "act": _("Act"),
    "offer": _("Commercial offer"),
    "other": _("Other"),
}


@register.simple_tag
def approvals_awaiting(user: Any) -> int:
    return awaiting_count(user=user)


@register.filter
def document_kind(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))

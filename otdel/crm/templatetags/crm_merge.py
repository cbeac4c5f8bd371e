"""``{% lead_merge_suggestions lead form %}``: "this may be Петров Пётр" on an untriaged lead, with one
click that triages it as a duplicate of that contact (the triage path merges the two)."""

from __future__ import annotations

from typing import Any

from django import template

from otdel.crm.selectors import lead_merge_candidates, lead_merge_elsewhere

register = template.Library()


@register.inclusion_tag("crm/_merge_suggestions.html", takes_context=True)
def lead_merge_suggestions(context: template.Context, lead: Any, form: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    candidates = lead_merge_candidates(user=user, lead=lead) if user is not None else []
    owners = lead_merge_elsewhere(user=user, lead=lead, offered=candidates) if user is not None else []
    return {
        "owners": owners,
        "lead": lead,
        "form": form,
        "candidates": candidates,
        "htmx": context.get("htmx"),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }

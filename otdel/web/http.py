"""Helpers every UI view shares: saving a form through a service, going back, htmx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from otdel.core.exceptions import ConflictError
from otdel.core.jsonsafe import int_in_range

T = TypeVar("T")

# htmx event that makes a card's timeline reload itself (sent by views that change what it shows).
TIMELINE_REFRESH_EVENT = "comms-timeline-refresh"


def form_save(form: Any, save: Callable[[], T]) -> T | None:
    """Validate ``form``, then call the service (``save``); what the service refuses is shown on the
    form's fields. Returns what the service returned, or None when the form must be shown again."""
    if not form.is_valid():
        return None
    try:
        return save()
    except (ValidationError, ConflictError) as exc:
        form.add_service_error(exc)
        return None


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def safe_next(request: HttpRequest, next_url: str) -> str:
    """``next_url`` when it is an address on this site (a path from the root, or a URL with this
    host), else an empty string. A bare word (“-1”, “logout”) is refused: ``redirect()`` would take it
    for a view name, and a name no view has is a 500."""
    if not next_url or not next_url.startswith(("/", "http://", "https://")):
        return ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return ""


def redirect_back(request: HttpRequest, default: str, **kwargs: Any) -> HttpResponse:
    """Back to the POSTed ``next`` page when it is on this site, else to the view ``default``."""
    return redirect(safe_next(request, request.POST.get("next") or "") or default, **kwargs)


def int_or_none(value: Any) -> int | None:
    """A query or form parameter as an int; None when it is missing, not a number, or beyond what a
    database integer holds (an id or offset of 10**20 would fail in PostgreSQL, not find nothing)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if int_in_range(number) else None


def errors_text(exc: ValidationError) -> str:
    """A service's refusal as one line for a flash message."""
    return " ".join(str(m) for m in exc.messages)

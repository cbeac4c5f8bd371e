"""What a form submission's HTTP request tells about its sender: IP (also behind a proxy), browser."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from otdel.comms.intake import request_meta
from otdel.comms.webforms.services import SubmissionMeta

# Behind nginx on the same machine REMOTE_ADDR is the proxy; the visitor is in X-Forwarded-For.
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address. X-Forwarded-For is believed only when our own proxy sent the request,
    and only its last entry (the one that proxy added; anything left of it the client could forge)."""
    remote = _ip(request.META.get("REMOTE_ADDR", "") or "")
    trusted = getattr(settings, "OTDEL_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in trusted and forwarded:
        return _ip(forwarded.split(",")[-1]) or remote
    return remote


def submission_meta(request: HttpRequest, *, idempotency_key: str = "") -> SubmissionMeta:
    meta = request_meta(request)
    return SubmissionMeta(
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        headers=meta["headers"],
        idempotency_key=idempotency_key.strip(),
    )

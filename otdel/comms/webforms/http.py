"""What a form submission's HTTP request tells about its sender: IP (also behind a proxy), browser."""

from __future__ import annotations

from django.http import HttpRequest

from otdel.comms.intake import request_meta
from otdel.comms.webforms.services import SubmissionMeta
from otdel.core.net import client_ip

__all__ = ["client_ip", "submission_meta"]


def submission_meta(request: HttpRequest, *, idempotency_key: str = "") -> SubmissionMeta:
    meta = request_meta(request)
    return SubmissionMeta(
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        headers=meta["headers"],
        idempotency_key=idempotency_key.strip(),
    )

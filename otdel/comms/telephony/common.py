"""Pieces every telephony adapter shares: finding the provider, the line's queue, small HTTP calls."""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.comms.models import Direction, InteractionKind, TelephonyLine, TelephonyProvider
from otdel.comms.services import InboundEvent
from otdel.core.identity import normalize_phone
from otdel.routing.models import Queue

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 15


class TelephonyError(Exception):
    """The PBX or the provider's API did not do what we asked (unreachable, refused, malformed answer)."""


def provider_string(provider: TelephonyProvider) -> str:
    """What goes into Interaction.provider / IntakeLog.provider: ``<kind>:<key>``."""
    return f"{provider.kind}:{provider.key}"


def active_provider(kind: str, key: str) -> TelephonyProvider | None:
    return TelephonyProvider.objects.filter(kind=kind, key=key, is_active=True).first()


def provider_from_source(kind: str, source: str) -> TelephonyProvider | None:
    """The provider a delivery came through, from its ``<kind>:<key>`` string (see ``provider_string``)."""
    prefix, _sep, key = source.partition(":")
    if prefix != kind or not key:
        return None
    return TelephonyProvider.objects.filter(kind=kind, key=key).first()


def provider_touch(provider: TelephonyProvider, *, error: str | None = None) -> None:
    """Note that the provider is alive (or why it is not); a plain UPDATE, not an audited edit."""
    fields: dict[str, Any] = {"last_event_at": timezone.now()} if error is None else {}
    if error is not None or provider.last_error:
        fields["last_error"] = (error or "")[:5000]
    if fields:
        TelephonyProvider.objects.filter(pk=provider.pk).update(**fields)


def line_queue(provider: TelephonyProvider, called: str) -> Queue | None:
    """The queue of the line (DID) that was dialled, else the provider's queue."""
    number = phone_or_empty(called)
    if number:
        line = TelephonyLine.objects.filter(number=number).select_related("queue").first()
        if line is not None and line.queue is not None:
            return line.queue
    return provider.queue


def phone_or_empty(raw: str | None) -> str:
    try:
        return normalize_phone(raw or "")
    except ValidationError:
        return ""


def digits(value: str | None) -> str:
    return re.sub(r"\D", "", (value or "").split(";", 1)[0])


def is_short_number(value: str | None) -> bool:
    """An extension or a service code rather than a client's phone number."""
    return len(digits(value)) < 5


def with_queue(event: InboundEvent, provider: TelephonyProvider) -> InboundEvent:
    if event.kind == InteractionKind.CALL and event.direction == Direction.IN:
        event.queue = line_queue(provider, event.called)
    return event


def http_call(request: urllib.request.Request, *, timeout: float = HTTP_TIMEOUT) -> tuple[int, bytes]:
    """Send a request to a provider API; network trouble becomes a TelephonyError with a readable reason."""
    if not request.full_url.startswith(("http://", "https://")):
        raise TelephonyError(_("The provider API address must start with http:// or https://."))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
            return response.status, response.read(1024 * 1024)
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode("utf-8", "replace")
        raise TelephonyError(
            _("The provider answered HTTP %(status)s: %(body)s") % {"status": exc.code, "body": body[:300]}
        ) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TelephonyError(_("The provider API is unreachable: %(reason)s") % {"reason": reason}) from exc


def http_json(request: urllib.request.Request, *, timeout: float = HTTP_TIMEOUT) -> dict[str, Any]:
    _status, body = http_call(request, timeout=timeout)
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except ValueError as exc:
        raise TelephonyError(_("The provider answered something that is not JSON.")) from exc
    if not isinstance(data, dict):
        raise TelephonyError(_("The provider answered something that is not a JSON object."))
    return data


def api_base(provider: TelephonyProvider) -> str:
    return (provider.api_url or "").strip().rstrip("/")

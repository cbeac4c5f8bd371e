"""Pieces every telephony adapter shares: finding the provider, the line's queue, small HTTP calls."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.comms.models import Direction, InteractionKind, TelephonyLine, TelephonyProvider
from otdel.comms.services import InboundEvent
from otdel.comms.telephony.generic import call_event
from otdel.core.identity import normalize_phone
from otdel.crm.models import Contact
from otdel.routing.decide import Destination
from otdel.routing.models import Queue
from otdel.routing.selectors import live_route

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 15
# A PBX command sent while the call rings (Mango's commands/route) gives up after this many seconds.
LIVE_ROUTE_TIMEOUT = 2.0


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


_UNSET: Any = object()


@dataclass
class CallEvents:
    """The events of one call as a provider tells it: ``make("ringing", at)``, ``make("ended", at, ...)``.

    Every event carries the same call id, direction and numbers; an inbound call's events carry the
    queue of the line that was dialled (looked up once per delivery, not once per event).
    """

    provider: TelephonyProvider
    source: str
    call_id: str
    direction: str
    caller: str
    called: str
    payload: dict[str, Any]
    _queue: Any = field(default=_UNSET, init=False, repr=False)

    def __call__(
        self,
        event: str,
        at: datetime.datetime,
        *,
        extension: str = "",
        duration: int | None = None,
        status: str = "",
    ) -> InboundEvent:
        made = call_event(
            provider=self.source,
            call_id=self.call_id,
            event=event,
            direction=self.direction,
            caller=self.caller,
            called=self.called,
            at=at,
            extension=extension,
            duration=duration,
            status=status,
            payload=self.payload,
        )
        if self.direction == Direction.IN:
            if self._queue is _UNSET:
                self._queue = line_queue(self.provider, self.called)
            made.queue = self._queue
        return made


# --- live routing: where a ringing call should go, for the PBXs Otdel answers itself -------------


def _isolated() -> contextlib.AbstractContextManager[Any]:
    """A savepoint when already inside a transaction, so a failed read can't spoil the caller's."""
    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()


@dataclass(frozen=True)
class LiveTarget:
    """A ringing call's destination as a PBX can act on it: an employee's extension."""

    extension: str
    reason: str
    contact_id: int | None = None


def live_target(*, caller: str, called: str) -> tuple[LiveTarget | None, Destination | None]:
    """Ask routing where a ringing call goes (read-only, fast); never raises.

    Returns the extension to send the call to (only when routing names a person with an
    extension; a queue is left to the PBX's own scenario) and routing's whole answer (None when
    routing failed: that is logged and the call follows the PBX's scenario).
    """
    try:
        with _isolated():
            destination = live_route(caller=caller, called=called)
    except Exception:
        logger.exception("live routing failed for a call from %r to %r", caller, called)
        return None, None
    user = destination.user
    extension = (user.extension or "").strip() if user is not None and user.is_active else ""
    if not extension:
        return None, destination
    return LiveTarget(extension, destination.reason, destination.contact_id), destination


def live_contact_name(contact_id: int | None) -> str:
    """The caller's name to show on the ringing phone (one primary-key lookup); "" if unknown."""
    if contact_id is None:
        return ""
    try:
        with _isolated():
            name = (
                Contact.objects.filter(pk=contact_id).order_by().values_list("full_name", flat=True).first()
            )
    except Exception:
        logger.exception("could not read the name of contact %s for a ringing call", contact_id)
        return ""
    return (name or "").strip()


def live_route_timeout() -> float:
    """Seconds a PBX command sent while the call rings may take (``OTDEL_TELEPHONY_ROUTE_TIMEOUT``)."""
    return float(getattr(settings, "OTDEL_TELEPHONY_ROUTE_TIMEOUT", LIVE_ROUTE_TIMEOUT))


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

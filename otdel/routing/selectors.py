"""Reads for routing: the live PBX question "where does this ringing call go?"."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from otdel.core.identity import normalize_phone
from otdel.crm.selectors import contact_by_identity
from otdel.routing.services import Destination, routing_decide


def live_route(*, caller: str, called: str = "") -> Destination:
    """Answer a PBX while the call rings: read-only, one indexed identity lookup, never an error.

    A caller number that can't be parsed still gets the default queue (or the fallback person).
    """
    from otdel.comms.models import TelephonyLine

    contact = None
    identity = None
    try:
        identity = ("phone", normalize_phone(caller))
        contact = contact_by_identity(kind="phone", value=identity[1])
    except ValidationError:
        contact = None
    queue = None
    if called:
        try:
            line = (
                TelephonyLine.objects.select_related("queue").filter(number=normalize_phone(called)).first()
            )
        except ValidationError:
            line = None
        queue = line.queue if line is not None else None
    return routing_decide(contact=contact, channel="call", queue=queue, assign=False, identity=identity)


def destination_text(destination: Destination) -> str:
    """The one-line answer for an Asterisk dialplan CURL(): an extension or ``queue:<code>``."""
    if destination.user is not None and destination.user.extension:
        return destination.user.extension
    if destination.queue is not None:
        return f"queue:{destination.queue.code}"
    return ""


def destination_payload(destination: Destination) -> dict[str, Any]:
    return destination.as_dict()

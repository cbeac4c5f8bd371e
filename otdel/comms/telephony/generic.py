"""The generic call-event webhook of CONTRACTS.md: any PBX that can POST JSON speaks it."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from otdel.comms.intake import IntakeError, register_parser
from otdel.comms.models import CallStatus, Direction, InteractionKind
from otdel.comms.services import CALL_EVENT_STATE, InboundEvent

CALL_EVENTS = {*CALL_EVENT_STATE, "recording"}
# No call lasts longer (a year); larger numbers do not fit the column and mean a broken PBX.
MAX_DURATION = 366 * 24 * 3600


def parse_time(value: Any, field: str, errors: dict[str, list[str]]) -> datetime.datetime:
    if value in (None, ""):
        return timezone.now()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, ValueError, OSError):
            errors.setdefault(field, []).append(
                _("Use ISO 8601 date and time, e.g. 2026-11-26T10:15:00+03:00.")
            )
            return timezone.now()
    parsed = parse_datetime(str(value).replace(" ", "T", 1)) if isinstance(value, str) else None
    if parsed is None:
        errors.setdefault(field, []).append(_("Use ISO 8601 date and time, e.g. 2026-11-26T10:15:00+03:00."))
        return timezone.now()
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def call_event(
    *,
    provider: str,
    call_id: str,
    event: str,
    direction: str,
    caller: str,
    called: str,
    at: datetime.datetime,
    extension: str = "",
    duration: int | None = None,
    status: str = "",
    recording_url: str = "",
    payload: dict[str, Any] | None = None,
) -> InboundEvent:
    """One call event in Otdel's words; the client is the caller of an inbound call, the callee of an outbound one."""
    client = caller if direction == Direction.IN else called
    return InboundEvent(
        provider=provider,
        external_id=call_id,
        kind=InteractionKind.CALL,
        channel="call",
        direction=direction,
        occurred_at=at,
        identity_kind="phone",
        identity_value=client,
        payload=payload or {},
        call_event=event,
        call_status=status,
        caller=caller or "",
        called=called or "",
        extension=extension or "",
        duration=duration,
        recording_url=recording_url or "",
    )


@register_parser("generic")
def parse_generic(payload: dict[str, Any], provider: str = "generic") -> list[InboundEvent]:
    if not isinstance(payload, dict):
        raise IntakeError(_("Send a JSON object."))
    errors: dict[str, list[str]] = {}
    call_id = str(payload.get("call_id") or "").strip()
    if not call_id:
        errors["call_id"] = [_("This field is required.")]
    event = payload.get("event")
    if event not in CALL_EVENTS:
        errors["event"] = [_("One of: %(values)s.") % {"values": ", ".join(sorted(CALL_EVENTS))}]
    direction = payload.get("direction") or Direction.IN
    if direction not in Direction.values:
        errors["direction"] = [_("Either “in” or “out”.")]
    status = payload.get("status") or ""
    if status and status not in CallStatus.values:
        errors["status"] = [_("One of: %(values)s.") % {"values": ", ".join(CallStatus.values)}]
    raw_duration = payload.get("duration")
    duration: int | None = None
    if raw_duration not in (None, ""):
        try:
            duration = int(str(raw_duration))
            if not 0 <= duration <= MAX_DURATION:
                raise ValueError
        except (TypeError, ValueError):
            errors["duration"] = [_("A whole number of seconds, not negative.")]
            duration = None
    recording_url = payload.get("recording_url") or ""
    if recording_url and not str(recording_url).startswith(("http://", "https://")):
        errors["recording_url"] = [_("Enter a valid URL.")]
    at = parse_time(payload.get("at"), "at", errors)
    if event != "recording" and not (payload.get("caller") or payload.get("called")):
        errors["caller"] = [_("Give the caller or the called number.")]
    if errors:
        raise IntakeError(errors)
    return [
        call_event(
            provider="generic",
            call_id=call_id[:255],
            event=str(event),
            direction=str(direction),
            caller=str(payload.get("caller") or ""),
            called=str(payload.get("called") or ""),
            at=at,
            extension=str(payload.get("extension") or ""),
            duration=duration,
            status=str(status),
            recording_url=str(recording_url),
            payload=payload,
        )
    ]

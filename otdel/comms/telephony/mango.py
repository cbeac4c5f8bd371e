"""Mango Office VPBX: realtime events (events/call, events/summary, recordings) and its signed commands."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from otdel.comms.intake import IntakeError, register_parser
from otdel.comms.models import CallStatus, Direction, Interaction, TelephonyProvider
from otdel.comms.services import InboundEvent
from otdel.comms.telephony.common import (
    CallEvents,
    TelephonyError,
    api_base,
    digits,
    http_json,
    is_short_number,
    live_contact_name,
    live_route_timeout,
    live_target,
    provider_from_source,
    provider_touch,
)
from otdel.comms.telephony.generic import MAX_DURATION, call_event, parse_time
from otdel.core import jsonsafe

logger = logging.getLogger(__name__)

EVENT_FIELD = "_mango_event"
# The path Mango posts to under the configured address -> what we do with it.
HANDLED_EVENTS = ("call", "summary", "recording", "record/added")
# Where a ringing call may be moved with commands/route: the voice menu, a group's waiting queue.
ROUTE_LOCATIONS = ("ivr", "queue")
ROUTE_COMMAND_PREFIX = "otdel-route-"
# How long Otdel remembers that it routed a call (so repeated events don't route it again).
ROUTE_MEMORY_SECONDS = 3600
# Mango takes at most 64 bytes for the caller's display name.
DISPLAY_NAME_MAX_BYTES = 64


def mango_sign(*, api_key: str, salt: str, json_text: str) -> str:
    return hashlib.sha256((api_key + json_text + salt).encode()).hexdigest()


def mango_signature_valid(*, provider: TelephonyProvider, api_key: str, json_text: str, sign: str) -> bool:
    if not (provider.api_key and provider.api_secret and api_key and sign):
        return False
    if not hmac.compare_digest(api_key, provider.api_key):
        return False
    expected = mango_sign(api_key=provider.api_key, salt=provider.api_secret, json_text=json_text)
    return hmac.compare_digest(expected, sign.strip().lower())


# --- parsing ---------------------------------------------------------------------------------


def _party(payload: dict[str, Any], name: str) -> dict[str, str]:
    value = payload.get(name)
    if not isinstance(value, dict):
        return {}
    return {k: str(v) for k, v in value.items() if v not in (None, "")}


def _seconds(value: Any) -> int:
    try:
        seconds = int(str(value)) if value not in (None, "") else 0
    except ValueError:
        return 0
    return seconds if jsonsafe.int_in_range(seconds) else 0


def _at(value: Any, field: str, errors: dict[str, list[str]]) -> datetime.datetime:
    # Mango sends Unix seconds; tolerate them arriving as strings.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return parse_time(value, field, errors)


def _summary_status(payload: dict[str, Any]) -> str:
    if _seconds(payload.get("entry_result")) == 1:
        return CallStatus.ANSWERED
    reason = _seconds(payload.get("disconnect_reason"))
    # 2xxx billing limits, 32xx a wrong number, 5xxx overload/technical trouble: the call never had a chance.
    if 2000 <= reason < 3000 or 3200 <= reason < 3300 or reason >= 5000:
        return CallStatus.FAILED
    return CallStatus.MISSED


@register_parser("mango")
def parse_mango(payload: dict[str, Any], source: str) -> list[InboundEvent]:
    if not isinstance(payload, dict):
        raise IntakeError(_("Send a JSON object."))
    provider = provider_from_source("mango", source)
    if provider is None:
        raise IntakeError({"provider": [_("Unknown telephony provider.")]})
    kind = str(payload.get(EVENT_FIELD) or "")
    entry_id = str(payload.get("entry_id") or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in HANDLED_EVENTS:
        errors["event"] = [_("One of: %(values)s.") % {"values": ", ".join(HANDLED_EVENTS)}]
    if not entry_id:
        errors["entry_id"] = [_("This field is required.")]
    if errors:
        raise IntakeError(errors)
    clean = payload
    call_id = entry_id[:255]

    if kind in ("recording", "record/added"):
        return _recording(payload, source=source, call_id=call_id, clean=clean)

    sender, receiver = _party(payload, "from"), _party(payload, "to")
    if kind == "call":
        direction = (
            Direction.OUT if sender.get("extension") and not receiver.get("extension") else Direction.IN
        )
    else:
        call_direction = _seconds(payload.get("call_direction"))
        if call_direction == 0:
            return []  # internal call between employees
        direction = Direction.OUT if call_direction == 2 else Direction.IN
    if direction == Direction.IN:
        caller = sender.get("number", "")
        called = str(
            payload.get("line_number") or receiver.get("line_number") or receiver.get("number") or ""
        )
        employee = receiver.get("extension", "")
    else:
        caller = sender.get("extension", "") or sender.get("number", "")
        called = receiver.get("number", "")
        employee = sender.get("extension", "")
    client = caller if direction == Direction.IN else called
    if (kind == "call" and sender.get("extension") and receiver.get("extension")) or is_short_number(client):
        return []  # employee to employee: nobody to put on a client's timeline

    make = CallEvents(provider, source, call_id, direction, caller, called, clean)
    if kind == "call":
        at = _at(payload.get("timestamp"), "timestamp", errors)
        state = str(payload.get("call_state") or "")
        if state not in ("Appeared", "Connected", "OnHold", "Disconnected"):
            errors["call_state"] = [
                _("One of: %(values)s.") % {"values": "Appeared, Connected, OnHold, Disconnected"}
            ]
        if errors:
            raise IntakeError(errors)
        if state == "Appeared":
            return [make("ringing", at)]
        if state == "Connected" and (payload.get("location") == "abonent" or employee):
            # A voice menu "connects" too; only a person picking up makes the call answered.
            return [make("answered", at, extension=employee)]
        # OnHold, one leg hanging up (others may still ring or talk): kept, the summary ends the call.
        return [make("", at)]

    # events/summary: the call is over; it carries the whole story, so it stands on its own.
    created = _at(payload.get("create_time"), "create_time", errors)
    ended = _at(payload.get("end_time"), "end_time", errors)
    talk_time, end_time = _seconds(payload.get("talk_time")), _seconds(payload.get("end_time"))
    if errors:
        raise IntakeError(errors)
    status = _summary_status(payload)
    answered = status == CallStatus.ANSWERED
    extension = employee if (answered or direction == Direction.OUT) else ""
    duration = min(MAX_DURATION, max(0, end_time - talk_time)) if talk_time else 0
    events = [make("ringing", created)]
    if answered and talk_time:
        events.append(
            make("answered", datetime.datetime.fromtimestamp(talk_time, tz=datetime.UTC), extension=extension)
        )
    events.append(make("ended", ended, extension=extension, duration=duration, status=status))
    return events


def _recording(
    payload: dict[str, Any], *, source: str, call_id: str, clean: dict[str, Any]
) -> list[InboundEvent]:
    recording_id = str(payload.get("recording_id") or "").strip()
    if not recording_id:
        raise IntakeError({"recording_id": [_("This field is required.")]})
    state = payload.get("recording_state")
    if payload.get(EVENT_FIELD) == "recording" and state != "Completed":
        return []  # Started / Continued: nothing to fetch yet
    existing = Interaction.objects.filter(provider=source, external_id=call_id).first()
    if existing is None:
        return []  # no numbers in it; the call's own events carry them
    errors: dict[str, list[str]] = {}
    at = _at(payload.get("timestamp"), "timestamp", errors)
    return [
        call_event(
            provider=source,
            call_id=call_id,
            event="recording",
            direction=existing.direction,
            caller=existing.caller,
            called=existing.called,
            at=at,
            payload=clean,
        )
    ]


# --- the signed API ------------------------------------------------------------------------------


def mango_api_request(
    provider: TelephonyProvider, command: str, data: dict[str, Any]
) -> urllib.request.Request:
    """A POST to the VPBX API: form fields vpbx_api_key, sign = sha256(key + json + salt), json."""
    base = api_base(provider)
    if not base:
        raise TelephonyError(_("Set the API base URL of the provider (https://app.mango-office.ru/vpbx)."))
    if not (provider.api_key and provider.api_secret):
        raise TelephonyError(_("Set the API key and salt of the provider."))
    json_text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    body = urllib.parse.urlencode(
        {
            "vpbx_api_key": provider.api_key,
            "sign": mango_sign(api_key=provider.api_key, salt=provider.api_secret, json_text=json_text),
            "json": json_text,
        }
    ).encode()
    return urllib.request.Request(
        f"{base}/{command.strip('/')}",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )


def mango_callback(provider: TelephonyProvider, *, extension: str, number: str) -> dict[str, Any]:
    """Ring the employee first, then the client (``commands/callback``); the result comes to result/callback."""
    command_id = f"otdel-{uuid.uuid4().hex}"
    answer = http_json(
        mango_api_request(
            provider,
            "commands/callback",
            {"command_id": command_id, "from": {"extension": extension}, "to_number": digits(number)},
        )
    )
    if _seconds(answer.get("result")) != 1000:
        raise TelephonyError(
            _("Mango Office refused the call: result %(result)s") % {"result": answer.get("result")}
        )
    return {**answer, "command_id": command_id}


def mango_recording_request(provider: TelephonyProvider, recording_id: str) -> urllib.request.Request:
    """``queries/recording/post`` answers with a redirect to a one-time link of the audio file."""
    return mango_api_request(
        provider, "queries/recording/post", {"recording_id": recording_id, "action": "download"}
    )


# --- live routing: commands/route while the call rings ------------------------------------------


@dataclass(frozen=True)
class MangoRoute:
    """Move the ringing leg ``call_id`` of the call ``entry_id`` to ``to_number`` (an extension)."""

    entry_id: str
    call_id: str
    to_number: str
    reason: str
    display_name: str = ""


def _truncate_bytes(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def mango_route_plan(provider: TelephonyProvider, payload: dict[str, Any]) -> MangoRoute | None:
    """Should Otdel move this ringing call, and where? Read-only and fast; never raises.

    Only an inbound call that has just appeared in the voice menu or a group's queue is moved, and
    only when routing names a person with an extension. Legs that ring employees are left alone
    (a group may ring several at once), and so are legs a command or a transfer made.
    """
    try:
        if not provider.live_routing:
            return None  # the admin lets the PBX's scenario decide
        if not (api_base(provider) and provider.api_key and provider.api_secret):
            return None  # no API to send the command to: the call follows the scenario
        if payload.get("call_state") != "Appeared" or payload.get("location") not in ROUTE_LOCATIONS:
            return None
        sender, receiver = _party(payload, "from"), _party(payload, "to")
        if any(payload.get(k) for k in ("command_id", "transfer", "callback_initiator")):
            return None
        if sender.get("taken_from_call_id") or sender.get("extension"):
            return None  # made by a command / an employee's own call
        caller = sender.get("number", "")
        entry_id, call_id = str(payload.get("entry_id") or ""), str(payload.get("call_id") or "")
        if not (entry_id and call_id) or is_short_number(caller):
            return None
        called = str(
            payload.get("line_number") or receiver.get("line_number") or receiver.get("number") or ""
        )
        target, destination = live_target(caller=caller, called=called)
        if target is None or destination is None or receiver.get("extension") == target.extension:
            return None
        name = _truncate_bytes(live_contact_name(target.contact_id), DISPLAY_NAME_MAX_BYTES)
        return MangoRoute(entry_id, call_id, target.extension, target.reason, name)
    except Exception:
        logger.exception("no live routing for Mango call %s", payload.get("entry_id"))
        return None


def _route_claim(provider: TelephonyProvider, entry_id: str, command_id: str) -> bool:
    """True the first time a call is to be routed (per cache: shared if ``CACHES`` is shared)."""
    key = "otdel:mango-route:" + hashlib.sha256(f"{provider.pk}:{entry_id}".encode()).hexdigest()
    try:
        return bool(cache.add(key, command_id, ROUTE_MEMORY_SECONDS))
    except Exception:
        logger.exception("the cache is unavailable; routing Mango call %s anyway", entry_id)
        return True


def mango_route_send(provider: TelephonyProvider, plan: MangoRoute) -> bool:
    """Send ``commands/route`` for a call (once per call), with a short timeout; never raises.

    A refusal or a network failure is noted as the provider's last error; the call then simply
    follows the PBX's scenario. Returns whether Mango took the command.
    """
    command_id = f"{ROUTE_COMMAND_PREFIX}{uuid.uuid4().hex}"
    if not _route_claim(provider, plan.entry_id, command_id):
        return False
    data: dict[str, Any] = {"command_id": command_id, "call_id": plan.call_id, "to_number": plan.to_number}
    if plan.display_name:
        data["sip_headers"] = {"From/display-name": plan.display_name}
    try:
        answer = http_json(mango_api_request(provider, "commands/route", data), timeout=live_route_timeout())
        if "result" in answer and _seconds(answer.get("result")) != 1000:
            raise TelephonyError(
                _("Mango Office refused to route the call: result %(result)s")
                % {"result": answer.get("result")}
            )
    except Exception as exc:
        logger.warning("Mango commands/route for call %s failed: %s", plan.entry_id, exc)
        provider_touch(provider, error=_("Live routing: %(reason)s") % {"reason": exc})
        return False
    logger.info("Mango call %s routed to %s (%s)", plan.entry_id, plan.to_number, plan.reason)
    provider_touch(provider)
    return True


def mango_route_result(provider: TelephonyProvider, payload: dict[str, Any]) -> None:
    """``result/route``: Mango's verdict on a route command; a failure of ours becomes the last error."""
    command_id = str(payload.get("command_id") or "")
    if not command_id.startswith(ROUTE_COMMAND_PREFIX):
        return
    result = _seconds(payload.get("result"))
    if result != 1000:
        provider_touch(
            provider,
            error=_("Live routing: Mango Office could not route the call: result %(result)s")
            % {"result": payload.get("result")},
        )

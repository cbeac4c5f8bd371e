"""Zadarma: NOTIFY_* webhooks (signed with the API secret) mapped onto call events, and its signed API."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import logging
import urllib.parse
import urllib.request
from typing import Any

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
    live_target,
    provider_from_source,
)
from otdel.comms.telephony.generic import MAX_DURATION, call_event, parse_time

logger = logging.getLogger(__name__)

# Which fields Zadarma concatenates (in this order) before signing each notification.
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
EVENTS = frozenset(SIGNED_FIELDS)

# NOTIFY_END / NOTIFY_OUT_END "disposition" -> our call status.
DISPOSITION_STATUS = {
    "answered": CallStatus.ANSWERED,
    "busy": CallStatus.BUSY,
    "cancel": CallStatus.MISSED,
    "no answer": CallStatus.MISSED,
    "failed": CallStatus.FAILED,
    "no money": CallStatus.FAILED,
    "unallocated number": CallStatus.FAILED,
    "no limit": CallStatus.FAILED,
    "no day limit": CallStatus.FAILED,
    "line limit": CallStatus.FAILED,
    "no money, no limit": CallStatus.FAILED,
}


def zadarma_sign(secret: str, text: str) -> str:
    """base64 of the *hex* HMAC-SHA1 digest, as Zadarma computes it."""
    hexdigest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(hexdigest.encode()).decode()


def zadarma_signature_valid(*, secret: str, payload: dict[str, Any], signature: str) -> bool:
    fields = SIGNED_FIELDS.get(str(payload.get("event") or ""))
    if not fields or not secret or not signature:
        return False
    expected = zadarma_sign(secret, "".join(str(payload.get(name) or "") for name in fields))
    return hmac.compare_digest(expected, signature.strip())


# A signed notification is believed only this long after the call started (a long call ends
# hours later; an old one replayed is refused); and not from the future beyond clock skew.
MAX_AGE = datetime.timedelta(hours=12)
MAX_SKEW = datetime.timedelta(minutes=10)
# How long a delivery's fingerprint is remembered to drop an exact repeat (a replay or a retry of
# a delivery already stored: either way nothing new).
REPLAY_WINDOW_SECONDS = int(MAX_AGE.total_seconds())


def zadarma_stale(payload: dict[str, Any], now: datetime.datetime) -> bool:
    """Is the signed ``call_start`` outside the window (NOTIFY_RECORD has none: not stale)?"""
    if "call_start" not in SIGNED_FIELDS.get(str(payload.get("event") or ""), ()):
        return False
    errors: dict[str, list[str]] = {}
    started = parse_time(payload.get("call_start") or None, "call_start", errors)
    if errors or not payload.get("call_start"):
        return True
    return started < now - MAX_AGE or started > now + MAX_SKEW


def zadarma_first_delivery(provider_key: str, signature: str, body: str) -> bool:
    """Remember this signed delivery; False when the very same one was accepted already."""
    from django.core.cache import cache

    fingerprint = hashlib.sha256(f"{provider_key}\n{signature}\n{body}".encode()).hexdigest()
    return bool(cache.add(f"zadarma-seen:{fingerprint}", 1, timeout=REPLAY_WINDOW_SECONDS))


# Zadarma shows the caller's name (SIP CallerName) on the ringing phone; keep it short.
CALLER_NAME_MAX = 64


def zadarma_start_reply(provider: TelephonyProvider, payload: dict[str, Any]) -> dict[str, Any] | None:
    """What to answer NOTIFY_START with: Zadarma reads the JSON reply as an instruction for the call.

    ``{"redirect": "<extension>"}`` sends the ringing call to that extension; ``"caller_name"``
    names the caller on the phone. Otdel redirects only when routing names a person with an
    extension (non-target caller -> the office manager, open deal -> its owner, ...); for a queue
    it answers no redirect, so the PBX's own scenario (which rings the team) runs; nor when the
    admin turned live routing off for this provider. A known contact's name is sent either way. Whatever goes wrong here, the answer is "no instruction" (logged).
    """
    try:
        caller = str(payload.get("caller_id") or "")
        if is_short_number(caller):
            return None  # an internal call
        target, destination = live_target(caller=caller, called=str(payload.get("called_did") or ""))
        if destination is None:
            return None
        reply: dict[str, Any] = {}
        if target is not None and provider.live_routing:
            reply["redirect"] = target.extension
        name = live_contact_name(destination.contact_id)
        if name:
            reply["caller_name"] = name[:CALLER_NAME_MAX]
        return reply or None
    except Exception:
        logger.exception("no live routing answer for Zadarma call %s", payload.get("pbx_call_id"))
        return None


# --- parsing ---------------------------------------------------------------------------------


def _duration(value: Any, errors: dict[str, list[str]]) -> int | None:
    if value in (None, ""):
        return None
    try:
        seconds = int(str(value))
    except ValueError:
        errors["duration"] = [_("A whole number of seconds, not negative.")]
        return None
    if not 0 <= seconds <= MAX_DURATION:
        errors["duration"] = [_("A whole number of seconds, not negative.")]
        return None
    return seconds


def _require(payload: dict[str, Any], names: tuple[str, ...], errors: dict[str, list[str]]) -> None:
    for name in names:
        if not str(payload.get(name) or "").strip():
            errors[name] = [_("This field is required.")]


@register_parser("zadarma")
def parse_zadarma(payload: dict[str, Any], source: str) -> list[InboundEvent]:
    if not isinstance(payload, dict):
        raise IntakeError(_("Send the notification fields."))
    provider = provider_from_source("zadarma", source)
    if provider is None:
        raise IntakeError({"provider": [_("Unknown telephony provider.")]})
    name = str(payload.get("event") or "")
    if name not in EVENTS:
        raise IntakeError({"event": [_("One of: %(values)s.") % {"values": ", ".join(sorted(EVENTS))}]})
    errors: dict[str, list[str]] = {}
    _require(payload, ("pbx_call_id",), errors)
    if name != "NOTIFY_RECORD":
        _require(payload, ("call_start",), errors)
    duration = _duration(payload.get("duration"), errors)
    start = parse_time(payload.get("call_start"), "call_start", errors)
    disposition = str(payload.get("disposition") or "").strip().lower()
    if name in ("NOTIFY_END", "NOTIFY_OUT_END") and disposition and disposition not in DISPOSITION_STATUS:
        # An unknown disposition is still a finished call; "failed" is the honest summary.
        disposition = "failed"
    if errors:
        raise IntakeError(errors)

    call_id = str(payload["pbx_call_id"])[:255]
    clean = payload

    if name == "NOTIFY_RECORD":
        # No numbers in it: only worth keeping for a call we already have (NOTIFY_END brings the same id).
        existing = Interaction.objects.filter(provider=source, external_id=call_id).first()
        if existing is None:
            return []
        return [
            call_event(
                provider=source,
                call_id=call_id,
                event="recording",
                direction=existing.direction,
                caller=existing.caller,
                called=existing.called,
                at=existing.occurred_at,
                payload=clean,
            )
        ]

    outbound = name.startswith("NOTIFY_OUT_")
    if outbound:
        direction = Direction.OUT
        caller = str(payload.get("internal") or payload.get("caller_id") or "")
        called = str(payload.get("destination") or "")
    else:
        direction = Direction.IN
        caller = str(payload.get("caller_id") or "")
        # NOTIFY_ANSWER has no called_did: its "destination" is whoever picked up, not our number.
        called = str(payload.get("called_did") or "")
    client = called if outbound else caller
    if is_short_number(client):
        return []  # an internal call between extensions: no client on it

    make = CallEvents(provider, source, call_id, direction, caller, called, clean)
    internal = str(payload.get("internal") or "")
    if name in ("NOTIFY_START", "NOTIFY_INTERNAL", "NOTIFY_OUT_START"):
        # NOTIFY_INTERNAL rings one extension of possibly several: who answers is NOTIFY_ANSWER's to say.
        return [make("ringing", start, extension=internal if outbound else "")]
    if name == "NOTIFY_ANSWER":
        destination = str(payload.get("destination") or "")
        extension = internal or (destination if is_short_number(destination) else "")
        return [make("ringing", start), make("answered", start, extension=extension)]
    # NOTIFY_END / NOTIFY_OUT_END: Zadarma gives the start and the talk time, not the end itself.
    status = DISPOSITION_STATUS.get(disposition, "")
    end = start + datetime.timedelta(seconds=duration or 0)
    answered_extension = internal if status == CallStatus.ANSWERED or outbound else ""
    return [
        make("ringing", start),
        make("ended", end, extension=answered_extension, duration=duration, status=status),
    ]


# --- the signed REST API -------------------------------------------------------------------------


def zadarma_api_request(
    provider: TelephonyProvider, method: str, params: dict[str, str], *, http_method: str = "GET"
) -> urllib.request.Request:
    """A request to Zadarma's API, signed as their client libraries sign it.

    ``method`` is the path with the version, e.g. ``/v1/request/callback/``. The signature is
    base64(hex HMAC-SHA1(secret, method + query + md5(query))) over the parameters sorted by name.
    """
    base = api_base(provider)
    if not base:
        raise TelephonyError(_("Set the API base URL of the provider (https://api.zadarma.com)."))
    if not (provider.api_key and provider.api_secret):
        raise TelephonyError(_("Set the API key and secret of the provider."))
    query = urllib.parse.urlencode(sorted({**params, "format": "json"}.items()))
    signature = zadarma_sign(provider.api_secret, method + query + hashlib.md5(query.encode()).hexdigest())
    headers = {"Authorization": f"{provider.api_key}:{signature}", "Accept": "application/json"}
    if http_method == "GET":
        return urllib.request.Request(f"{base}{method}?{query}", headers=headers, method="GET")
    return urllib.request.Request(
        f"{base}{method}",
        data=query.encode(),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        method=http_method,
    )


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("status") != "success":
        raise TelephonyError(
            _("Zadarma refused the request: %(message)s") % {"message": answer.get("message") or answer}
        )
    return answer


def zadarma_callback(provider: TelephonyProvider, *, extension: str, number: str) -> dict[str, Any]:
    """Ask Zadarma to ring the employee's extension, then the client (``/v1/request/callback/``)."""
    request = zadarma_api_request(
        provider, "/v1/request/callback/", {"from": extension, "to": digits(number)}
    )
    return _checked(http_json(request))


def zadarma_recording_link(
    provider: TelephonyProvider, *, call_id_with_rec: str, pbx_call_id: str = ""
) -> str:
    """A temporary download link of a call recording (``/v1/pbx/record/request/``)."""
    params = {"call_id": call_id_with_rec}
    if pbx_call_id and not call_id_with_rec:
        params = {"pbx_call_id": pbx_call_id}
    answer = _checked(http_json(zadarma_api_request(provider, "/v1/pbx/record/request/", params)))
    link = answer.get("link") or next(iter(answer.get("links") or []), "")
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        raise TelephonyError(_("Zadarma gave no recording link."))
    return link

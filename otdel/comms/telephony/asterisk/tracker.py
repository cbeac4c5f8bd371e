"""Turns the AMI event stream into call events: channels grouped by Linkedid make one call.

Pure bookkeeping, no I/O: ``feed(event)`` returns the call updates the event causes, ``expire()``
releases ended calls whose CDR did not arrive in time. An Asterisk call is several channels (the
trunk leg, each ringing phone, Local channels of queues) that share a Linkedid; the call rings
when it appears, is answered when one of our extensions is bridged with the other side (or a Dial
ends with ANSWER), and ends when its last channel hangs up. The CDR then brings the billable
seconds, so the end is held back for ``cdr_wait`` seconds to wait for it.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otdel.comms.models import CallStatus, Direction

Message = dict[str, str]

# "PJSIP/101-0000001a" (SIP, IAX2 alike) and "Local/101@from-internal-00000003;1".
_DEVICE_CHANNEL = re.compile(r"^[A-Za-z0-9]+/(?P<endpoint>.+?)-[0-9a-fA-F]{6,}$")
_LOCAL_CHANNEL = re.compile(r"^Local/(?P<endpoint>[^@]+)@.*;[12]$")
_DIGIT_RUNS = re.compile(r"\+?\d{5,}")

DIAL_STATUS = {
    "ANSWER": CallStatus.ANSWERED,
    "NOANSWER": CallStatus.MISSED,
    "CANCEL": CallStatus.MISSED,
    "BUSY": CallStatus.BUSY,
    "CHANUNAVAIL": CallStatus.FAILED,
    "CONGESTION": CallStatus.FAILED,
}
CDR_DISPOSITION = {
    "ANSWERED": CallStatus.ANSWERED,
    "NO ANSWER": CallStatus.MISSED,
    "BUSY": CallStatus.BUSY,
    "FAILED": CallStatus.FAILED,
    "CONGESTION": CallStatus.FAILED,
}
# When legs disagree (one phone busy, another not answering), what the client experienced wins.
STATUS_PRECEDENCE = [CallStatus.ANSWERED, CallStatus.MISSED, CallStatus.BUSY, CallStatus.FAILED]
NOT_A_NUMBER = {"", "s", "h", "i", "t", "<unknown>", "unknown", "anonymous"}


@dataclass
class CallUpdate:
    """One call event for ``ingest_event`` (external id = Linkedid)."""

    linkedid: str
    event: str  # ringing | answered | ended | recording
    direction: str
    caller: str
    called: str
    at: datetime.datetime
    extension: str = ""
    duration: int | None = None
    status: str = ""
    recording_path: str = ""
    recording_url: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Channel:
    uniqueid: str
    name: str
    caller_num: str = ""
    exten: str = ""


@dataclass
class _Call:
    linkedid: str
    first: _Channel | None = None
    channels: dict[str, _Channel] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    direction: str = ""
    caller: str = ""
    called: str = ""
    dialed: str = ""  # the number our side dialled, learned from DialBegin
    announced: bool = False
    answered_at: datetime.datetime | None = None
    extension: str = ""
    dial_statuses: list[str] = field(default_factory=list)
    cdrs: list[dict[str, Any]] = field(default_factory=list)
    recording: str = ""
    bridges: dict[str, set[str]] = field(default_factory=dict)
    ended_at: datetime.datetime | None = None
    end_deadline: float | None = None
    last_seen: float = 0.0


def _when(message: Message, now: float) -> datetime.datetime:
    """The event's own time when manager.conf has ``timestampevents = yes``, else when we got it."""
    try:
        stamp = float(message.get("Timestamp") or now)
    except ValueError:
        stamp = now
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC)


def _number(value: str | None) -> str:
    text = (value or "").strip()
    return "" if text.lower() in NOT_A_NUMBER else text


def _best(statuses: list[str]) -> str:
    for status in STATUS_PRECEDENCE:
        if status in statuses:
            return status
    return ""


class CallTracker:
    """Follows the calls of one Asterisk; ``is_extension`` tells our employees' extensions apart."""

    def __init__(
        self,
        *,
        is_extension: Callable[[str], bool],
        cdr_wait: float = 3.0,
        recording_url: Callable[[str], str] | None = None,
        stale_after: float = 12 * 3600,
    ) -> None:
        self.is_extension = is_extension
        self.cdr_wait = cdr_wait
        self.recording_url = recording_url or (lambda path: "")
        self.stale_after = stale_after
        self.calls: dict[str, _Call] = {}
        self._finished: dict[str, float] = {}
        self._linkedid_of: dict[str, str] = {}

    # --- input ---------------------------------------------------------------------------------

    def feed(self, message: Message, now: float | None = None) -> list[CallUpdate]:
        now = time.time() if now is None else now
        name = message.get("Event", "")
        if name == "Cdr":
            return self._cdr(message, now)
        linkedid = message.get("Linkedid") or message.get("LinkedID") or ""
        uniqueid = message.get("Uniqueid") or message.get("UniqueID") or ""
        if not linkedid or not uniqueid:
            return []
        if linkedid in self._finished:
            if not (name == "Newchannel" and uniqueid == linkedid):
                return []  # a straggler of a call we already closed
            del self._finished[linkedid]
        call = self.calls.get(linkedid)
        if call is None:
            if name == "Hangup":
                return []  # the end of a call that started before we connected
            call = self.calls[linkedid] = _Call(linkedid)
        call.last_seen = now
        at = _when(message, now)
        channel = self._channel(call, uniqueid, message.get("Channel", ""), message)
        updates: list[CallUpdate] = []

        if name == "DialBegin":
            dest_id = message.get("DestUniqueid", "")
            if dest_id:
                self._channel(
                    call,
                    dest_id,
                    message.get("DestChannel", ""),
                    {
                        "CallerIDNum": message.get("DestCallerIDNum", ""),
                        "Exten": message.get("DestExten", ""),
                    },
                )
            if channel is call.first and not call.dialed:
                call.dialed = self._dialed_number(message)
        elif name == "DialEnd":
            status = message.get("DialStatus", "").upper()
            if status:
                call.dial_statuses.append(status)
            if status == "ANSWER":
                dest = call.channels.get(message.get("DestUniqueid", ""))
                updates += self._answered(call, at, dest, message)
        elif name == "BridgeEnter":
            call.bridges.setdefault(message.get("BridgeUniqueid", ""), set()).add(uniqueid)
            updates += self._bridge_enter(call, at, channel, message)
        elif name == "BridgeLeave":
            call.bridges.get(message.get("BridgeUniqueid", ""), set()).discard(uniqueid)
        elif name == "VarSet" and message.get("Variable", "").upper() == "MIXMONITOR_FILENAME":
            call.recording = message.get("Value", "")
        elif name == "Hangup":
            call.live.discard(uniqueid)
            if not call.live:
                call.ended_at = at
                call.end_deadline = now + self.cdr_wait
                if any(cdr["status"] == CallStatus.ANSWERED for cdr in call.cdrs):
                    return [*updates, *self._finish(call, now)]
                return updates
        if not call.announced:
            updates = [*self._announce(call, at, message), *updates]
        return updates

    def expire(self, now: float | None = None) -> list[CallUpdate]:
        """Close ended calls whose CDR is overdue; forget calls that went silent long ago."""
        now = time.time() if now is None else now
        updates: list[CallUpdate] = []
        for call in list(self.calls.values()):
            if call.end_deadline is not None and call.end_deadline <= now:
                updates += self._finish(call, now)
            elif now - call.last_seen > self.stale_after:
                self._forget(call, now)
        for linkedid, at in list(self._finished.items()):
            if now - at > 3600:
                del self._finished[linkedid]
        if len(self._linkedid_of) > 50000:
            self._linkedid_of = {u: lid for u, lid in self._linkedid_of.items() if lid in self.calls}
        return updates

    def flush(self, now: float | None = None) -> list[CallUpdate]:
        """On shutdown: close every call that has ended without waiting for its CDR."""
        now = time.time() if now is None else now
        updates: list[CallUpdate] = []
        for call in list(self.calls.values()):
            if call.end_deadline is not None:
                updates += self._finish(call, now)
        return updates

    # --- bookkeeping ---------------------------------------------------------------------------

    def _channel(self, call: _Call, uniqueid: str, name: str, message: Message) -> _Channel:
        channel = call.channels.get(uniqueid)
        if channel is None:
            channel = call.channels[uniqueid] = _Channel(uniqueid, name)
            call.live.add(uniqueid)
            self._linkedid_of[uniqueid] = call.linkedid
        channel.name = name or channel.name
        channel.caller_num = _number(message.get("CallerIDNum")) or channel.caller_num
        channel.exten = _number(message.get("Exten")) or channel.exten
        # The call's first channel is the one whose Uniqueid is the Linkedid (the originator).
        if call.first is None or (uniqueid == call.linkedid and call.first is not channel):
            call.first = channel
        return channel

    def _endpoint(self, channel: _Channel | None) -> str:
        if channel is None:
            return ""
        match = _LOCAL_CHANNEL.match(channel.name) or _DEVICE_CHANNEL.match(channel.name)
        return match.group("endpoint") if match else ""

    def _extension_of(self, channel: _Channel | None) -> str:
        """Our employee's extension behind this channel (its device or Local name, else its caller id)."""
        if channel is None:
            return ""
        endpoint = self._endpoint(channel)
        if endpoint and self.is_extension(endpoint):
            return endpoint
        if channel.caller_num and self.is_extension(channel.caller_num):
            return channel.caller_num
        return ""

    def _phone_like(self, value: str) -> bool:
        digits = re.sub(r"\D", "", value or "")
        return len(digits) >= 5 and not self.is_extension(value)

    def _dialed_number(self, message: Message) -> str:
        for candidate in (message.get("DestExten", ""), message.get("DestCallerIDNum", "")):
            if self._phone_like(candidate):
                return candidate
        runs = _DIGIT_RUNS.findall(message.get("DialString", ""))
        return max(runs, key=len) if runs else ""

    def _announce(self, call: _Call, at: datetime.datetime, message: Message) -> list[CallUpdate]:
        """The first "ringing" of the call, as soon as we know who the client is."""
        first = call.first
        if first is None:
            return []
        extension = self._extension_of(first)
        if extension:
            called = first.exten if self._phone_like(first.exten) else call.dialed
            if not called:
                return []  # our side is dialling; wait until we see whom (an internal call never says)
            call.direction, call.caller, call.called = Direction.OUT, extension, called
            call.extension = call.extension or extension
        else:
            call.direction, call.caller, call.called = Direction.IN, first.caller_num, first.exten
        call.announced = True
        return [self._update(call, "ringing", at, message)]

    def _answered(
        self, call: _Call, at: datetime.datetime, channel: _Channel | None, message: Message
    ) -> list[CallUpdate]:
        if call.answered_at is not None:
            return []
        updates = [] if call.announced else self._announce(call, at, message)
        if not call.announced:
            return []
        call.answered_at = at
        if call.direction == Direction.IN:
            call.extension = self._extension_of(channel) or call.extension
        return [*updates, self._update(call, "answered", at, message, extension=call.extension)]

    def _bridge_enter(
        self, call: _Call, at: datetime.datetime, channel: _Channel, message: Message
    ) -> list[CallUpdate]:
        try:
            members = int(message.get("BridgeNumChannels") or 0)
        except ValueError:
            members = 0
        if members < 2 or message.get("BridgeType", "basic").lower() in ("holding", "parking"):
            return []
        # Whoever of ours is in the bridge answered: the entering channel or the one already there.
        answering = channel if self._extension_of(channel) else None
        if answering is None:
            in_bridge = call.bridges.get(message.get("BridgeUniqueid", ""), set())
            answering = next(
                (
                    call.channels[u]
                    for u in in_bridge
                    if u in call.channels and self._extension_of(call.channels[u])
                ),
                None,
            )
        return self._answered(call, at, answering, message)

    def _cdr(self, message: Message, now: float) -> list[CallUpdate]:
        uniqueid = message.get("UniqueID") or message.get("Uniqueid") or ""
        linkedid = message.get("LinkedID") or message.get("Linkedid") or self._linkedid_of.get(uniqueid, "")
        call = self.calls.get(linkedid)
        if call is None:
            return []
        try:
            billable = int(message.get("BillableSeconds") or 0)
        except ValueError:
            billable = 0
        disposition = message.get("Disposition", "").upper()
        call.cdrs.append(
            {
                "status": CDR_DISPOSITION.get(disposition, CallStatus.FAILED if disposition else ""),
                "billable": billable,
                "disposition": disposition,
                "source": message.get("Source", ""),
                "destination": message.get("Destination", ""),
                "channel": message.get("DestinationChannel", ""),
            }
        )
        if call.end_deadline is not None and disposition == "ANSWERED":
            return self._finish(call, now)  # the CDR of the conversation: nothing more to wait for
        return []

    def _finish(self, call: _Call, now: float) -> list[CallUpdate]:
        self._forget(call, now)
        if not call.announced:
            return []  # an internal call, or one we never learned the client of
        at = call.ended_at or datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
        cdr_status = _best([c["status"] for c in call.cdrs])
        dial_status = _best([DIAL_STATUS[s] for s in call.dial_statuses if s in DIAL_STATUS])
        status: str = CallStatus.ANSWERED
        if call.answered_at is None:
            status = cdr_status or dial_status or CallStatus.MISSED
        duration: int | None = None
        if call.cdrs:
            duration = max(c["billable"] for c in call.cdrs)
        elif call.answered_at is not None:
            duration = max(0, int((at - call.answered_at).total_seconds()))
        if status != CallStatus.ANSWERED and not duration:
            duration = 0
        updates = [
            self._update(
                call,
                "ended",
                at,
                {"Event": "Hangup"},
                extension=call.extension
                if status == CallStatus.ANSWERED or call.direction == Direction.OUT
                else "",
                duration=duration,
                status=status,
                extra={"cdr": call.cdrs, "dial_status": call.dial_statuses},
            )
        ]
        if call.recording:
            updates.append(self._update(call, "recording", at, {"Event": "VarSet"}))
        return updates

    def _forget(self, call: _Call, now: float) -> None:
        self.calls.pop(call.linkedid, None)
        self._finished[call.linkedid] = now

    def _update(
        self,
        call: _Call,
        event: str,
        at: datetime.datetime,
        message: Message,
        *,
        extension: str = "",
        duration: int | None = None,
        status: str = "",
        extra: dict[str, Any] | None = None,
    ) -> CallUpdate:
        payload: dict[str, Any] = {"ami": dict(message), "linkedid": call.linkedid, **(extra or {})}
        recording_url = ""
        if call.recording:
            payload["recording_path"] = call.recording
            recording_url = self.recording_url(call.recording) if event in ("ended", "recording") else ""
        return CallUpdate(
            linkedid=call.linkedid,
            event=event,
            direction=call.direction,
            caller=call.caller,
            called=call.called,
            at=at,
            extension=extension,
            duration=duration,
            status=status,
            recording_path=call.recording,
            recording_url=recording_url,
            payload=payload,
        )

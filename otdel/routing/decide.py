"""The pure half of routing: facts about the contact + the configuration snapshot -> a Destination.

No database access here. Where the answer is "a member of this queue", the Destination carries a
``MemberPick`` plan; ``routing_decide(assign=True)`` carries it out under the queue's row lock,
the live PBX answer and the what-if tester just answer with the queue.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Any

from otdel.accounts.models import User
from otdel.crm.models import Contact
from otdel.routing.models import Queue
from otdel.routing.snapshot import QueueConfig, RoutingSnapshot


@dataclass(frozen=True)
class RuleRef:
    """Which rule decided, as fields; stored and answered as its text form (``encode``), e.g.
    ``deal:12:backup_of:5``, ``queue:sales:owner_off_shift:7:duty``, ``settings.non_target_user``.

    ``source`` is ``settings.non_target_user``, ``fallback_user``, ``owner_next_morning``,
    ``contact.responsible``, ``deal`` (with ``deal``) or ``queue`` (with ``queue``, the code).
    """

    source: str
    deal: int | None = None
    queue: str = ""
    backup_of: int | None = None
    owner_off_shift: int | None = None
    # How an off-hours queue answered: "duty", "voicemail" or "next_morning".
    fallback: str = ""

    def encode(self) -> str:
        parts = [self.source]
        if self.source == "deal":
            parts.append(str(self.deal))
        elif self.source == "queue":
            parts.append(self.queue)
        if self.owner_off_shift is not None:
            parts += ["owner_off_shift", str(self.owner_off_shift)]
        if self.backup_of is not None:
            parts += ["backup_of", str(self.backup_of)]
        if self.fallback:
            parts.append(self.fallback)
        return ":".join(parts)

    @classmethod
    def parse(cls, text: str) -> RuleRef:
        """The fields of an encoded rule (anything unreadable keeps what could be read)."""
        parts = (text or "").split(":")
        source, rest = parts[0], parts[1:]
        fields: dict[str, Any] = {}
        if source in ("deal", "queue") and rest:
            value, rest = rest[0], rest[1:]
            if source == "deal":
                fields["deal"] = int(value) if value.isdigit() else None
            else:
                fields["queue"] = value
        while rest:
            marker, rest = rest[0], rest[1:]
            if marker in ("backup_of", "owner_off_shift") and rest and rest[0].isdigit():
                fields[marker], rest = int(rest[0]), rest[1:]
            elif marker in ("duty", "voicemail", "next_morning"):
                fields["fallback"] = marker
        return cls(source, **fields)

    def with_fallback(self, fallback: str) -> str:
        return replace(self, fallback=fallback).encode()


@dataclass(frozen=True)
class MemberPick:
    """A plan "someone from ``queue``": who is next is chosen (and recorded) by the effectful part."""

    queue: Queue
    reason: str
    rule: str
    on_shift_only: bool
    # Where it goes when nobody in the queue can take it (itself possibly another pick).
    otherwise: Destination


@dataclass(frozen=True)
class Destination:
    reason: str
    user: User | None = None
    queue: Queue | None = None
    rule: str = ""
    contact: Contact | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    pick: MemberPick | None = field(default=None, compare=False, repr=False)
    # The live path knows the contact only by id (no instance is loaded for a ringing call).
    contact_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.user is not None:
            target: dict[str, Any] = {"kind": "user", "user": self.user.pk, "extension": self.user.extension}
        elif self.queue is not None:
            target = {"kind": "queue", "queue": self.queue.code}
        else:
            target = {"kind": "none"}
        return {
            "destination": target,
            "reason": self.reason,
            "rule": self.rule,
            "contact": self.contact.pk if self.contact is not None else self.contact_id,
        }


@dataclass(frozen=True)
class RoutingFacts:
    """What routing needs to know about who is contacting us (one indexed query gathers it)."""

    contact_id: int | None = None
    # The instance when the caller has one (ingest); the live path has only the id.
    contact: Contact | None = None
    non_target: bool = False
    # One of the contact's identities is blocked on its own.
    blocked: bool = False
    # The identity they used now (kind, normalized value), if it could be read.
    identity: tuple[str, str] | None = None
    deal_id: int | None = None
    deal_owner_id: int | None = None
    owner_id: int | None = None

    @property
    def user_ids(self) -> list[int | None]:
        return [self.deal_owner_id, self.owner_id]


def decide(
    facts: RoutingFacts,
    snapshot: RoutingSnapshot,
    now: datetime.datetime,
    *,
    channel: str,
    queue_id: int | None = None,
) -> Destination:
    """Where this traffic goes at ``now`` (local time), in the order of DESIGN.md.

    1. non-target contact or blocked identity -> the non-target destination;
    2. open deal -> its owner (or their backup); 3. known contact -> its owner (or backup);
    4. the line's queue (or the default one), with its off-hours behaviour; 5. the fallback person.
    """
    cfg = snapshot.settings

    def to(reason: str, **fields: Any) -> Destination:
        return Destination(reason, contact=facts.contact, contact_id=facts.contact_id, **fields)

    if (
        facts.non_target
        or facts.blocked
        or (facts.identity is not None and facts.identity in snapshot.blocked)
    ):
        target_user = snapshot.user(cfg.non_target_user_id)
        if target_user is not None and target_user.is_active:
            return to("non_target", user=target_user, rule=RuleRef("settings.non_target_user").encode())
        target = snapshot.queue(cfg.non_target_queue_id)
        if target is not None:
            answer = to(
                "non_target", queue=target.queue, rule=RuleRef("queue", queue=target.queue.code).encode()
            )
            return replace(answer, pick=MemberPick(target.queue, "non_target", answer.rule, False, answer))
        return to("non_target", user=snapshot.fallback, rule=RuleRef("fallback_user").encode())
    team = snapshot.queue(queue_id) if queue_id is not None else snapshot.queue(cfg.default_queue_id)
    absent_owner: User | None = None
    if facts.contact_id is not None:
        if facts.deal_id is not None:
            deal_owner = snapshot.user(facts.deal_owner_id)
            user, backup_of = _owner_or_backup(deal_owner, snapshot, now)
            if user is not None:
                rule = RuleRef("deal", deal=facts.deal_id, backup_of=backup_of)
                return to("open_deal", user=user, rule=rule.encode())
            absent_owner = deal_owner
        owner = snapshot.user(facts.owner_id)
        user, backup_of = _owner_or_backup(owner, snapshot, now)
        if user is not None:
            rule = RuleRef("contact.responsible", backup_of=backup_of)
            return to("contact_owner", user=user, rule=rule.encode())
        absent_owner = absent_owner or owner
    owner_next_morning = (
        to("contact_owner", user=absent_owner, rule=RuleRef("owner_next_morning").encode())
        if absent_owner is not None and absent_owner.is_active
        else None
    )
    fallback = to("fallback", user=snapshot.fallback, rule=RuleRef("fallback_user").encode())
    if team is not None and team.queue.is_active and team.member_ids:
        queue_rule = RuleRef(
            "queue", queue=team.queue.code, owner_off_shift=absent_owner.pk if absent_owner else None
        ).encode()
        answer = to("queue", queue=team.queue, rule=queue_rule)
        # The owner is off: someone in the team who works now takes it, else the owner next morning.
        # Nobody owns it: someone who works now, else the queue's off-hours behaviour.
        otherwise = owner_next_morning or _off_hours(team, answer, channel, snapshot, fallback)
        return replace(answer, pick=MemberPick(team.queue, "queue", queue_rule, True, otherwise))
    return owner_next_morning or fallback


def _off_hours(
    team: QueueConfig, answer: Destination, channel: str, snapshot: RoutingSnapshot, fallback: Destination
) -> Destination:
    """Nobody in the queue works now: the queue's off-hours behaviour."""
    queue, rule = team.queue, RuleRef.parse(answer.rule)
    duty = snapshot.user(queue.duty_user_id)
    if queue.off_hours == "duty" and duty is not None and duty.is_active:
        return replace(answer, user=duty, rule=rule.with_fallback("duty"))
    if queue.off_hours == "voicemail" and channel == "call" and queue.voicemail:
        return replace(answer, rule=rule.with_fallback("voicemail"), extra={"voicemail": queue.voicemail})
    # Next working morning: whoever's turn it is gets it now and sees it when they start.
    return replace(
        answer, pick=MemberPick(queue, "queue", rule.with_fallback("next_morning"), False, fallback)
    )


def _owner_or_backup(
    user: User | None, snapshot: RoutingSnapshot, now: datetime.datetime
) -> tuple[User | None, int | None]:
    """Who takes it for ``user``: they themselves, or their backup (then also whose backup)."""
    if user is None or not user.is_active:
        return None, None
    if snapshot.available(user, now):
        return user, None
    backup = snapshot.backup_of(user)
    if backup is not None and snapshot.available(backup, now):
        return backup, user.pk
    return None, None

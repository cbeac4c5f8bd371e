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
            return to("non_target", user=target_user, rule="settings.non_target_user")
        target = snapshot.queue(cfg.non_target_queue_id)
        if target is not None:
            answer = to("non_target", queue=target.queue, rule=f"queue:{target.queue.code}")
            return replace(answer, pick=MemberPick(target.queue, "non_target", answer.rule, False, answer))
        return to("non_target", user=snapshot.fallback, rule="fallback_user")
    team = snapshot.queue(queue_id) if queue_id is not None else snapshot.queue(cfg.default_queue_id)
    absent_owner: User | None = None
    if facts.contact_id is not None:
        if facts.deal_id is not None:
            deal_owner = snapshot.user(facts.deal_owner_id)
            user, suffix = _owner_or_backup(deal_owner, snapshot, now)
            if user is not None:
                return to("open_deal", user=user, rule=f"deal:{facts.deal_id}{suffix}")
            absent_owner = deal_owner
        owner = snapshot.user(facts.owner_id)
        user, suffix = _owner_or_backup(owner, snapshot, now)
        if user is not None:
            return to("contact_owner", user=user, rule=f"contact.responsible{suffix}")
        absent_owner = absent_owner or owner
    owner_next_morning = (
        to("contact_owner", user=absent_owner, rule="owner_next_morning")
        if absent_owner is not None and absent_owner.is_active
        else None
    )
    fallback = to("fallback", user=snapshot.fallback, rule="fallback_user")
    if team is not None and team.queue.is_active and team.member_ids:
        rule = f"queue:{team.queue.code}" + (f":owner_off_shift:{absent_owner.pk}" if absent_owner else "")
        answer = to("queue", queue=team.queue, rule=rule)
        # The owner is off: someone in the team who works now takes it, else the owner next morning.
        # Nobody owns it: someone who works now, else the queue's off-hours behaviour.
        otherwise = owner_next_morning or _off_hours(team, answer, channel, snapshot, fallback)
        return replace(answer, pick=MemberPick(team.queue, "queue", rule, True, otherwise))
    return owner_next_morning or fallback


def _off_hours(
    team: QueueConfig, answer: Destination, channel: str, snapshot: RoutingSnapshot, fallback: Destination
) -> Destination:
    """Nobody in the queue works now: the queue's off-hours behaviour."""
    queue, rule = team.queue, answer.rule
    duty = snapshot.user(queue.duty_user_id)
    if queue.off_hours == "duty" and duty is not None and duty.is_active:
        return replace(answer, user=duty, rule=f"{rule}:duty")
    if queue.off_hours == "voicemail" and channel == "call" and queue.voicemail:
        return replace(answer, rule=f"{rule}:voicemail", extra={"voicemail": queue.voicemail})
    # Next working morning: whoever's turn it is gets it now and sees it when they start.
    return replace(answer, pick=MemberPick(queue, "queue", f"{rule}:next_morning", False, fallback))


def _owner_or_backup(
    user: User | None, snapshot: RoutingSnapshot, now: datetime.datetime
) -> tuple[User | None, str]:
    if user is None or not user.is_active:
        return None, ""
    if snapshot.available(user, now):
        return user, ""
    backup = snapshot.backup_of(user)
    if backup is not None and snapshot.available(backup, now):
        return backup, f":backup_of:{user.pk}"
    return None, ""

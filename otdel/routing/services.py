"""``routing_decide``: the one function that says where any channel's contact goes (DESIGN order)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from otdel.accounts.models import Role, User
from otdel.crm.models import Contact, Deal, Lead, Stage
from otdel.routing.models import Queue, QueueMember, RoutingDecision, RoutingSettings


@dataclass(frozen=True)
class Destination:
    reason: str
    user: User | None = None
    queue: Queue | None = None
    rule: str = ""
    contact: Contact | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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
            "contact": self.contact.pk if self.contact else None,
        }


def _local_now(now: datetime.datetime | None) -> datetime.datetime:
    return timezone.localtime(now or timezone.now())


def user_available(user: User | None, now: datetime.datetime | None = None) -> bool:
    return bool(user is not None and user.is_active and user.works_at(_local_now(now)))


def _fallback_user(cfg: RoutingSettings) -> User | None:
    if cfg.fallback_user is not None and cfg.fallback_user.is_active:
        return cfg.fallback_user
    return User.objects.filter(role=Role.OFFICE_MANAGER, is_active=True).order_by("id").first()


def _pick_member(queue: Queue, now: datetime.datetime | None, *, assign: bool) -> User | None:
    """Choose who in ``queue`` takes the next contact; with ``assign`` record it (under a row lock)."""
    members = QueueMember.objects.filter(queue=queue, user__is_active=True).select_related("user")
    if assign:
        # Lock the queue row so two concurrent requests never pick the same "longest idle" member.
        Queue.objects.select_for_update().filter(pk=queue.pk).first()
    candidates = [m for m in members if user_available(m.user, now)] or list(members)
    if not candidates:
        return None
    if queue.strategy == Queue.Strategy.LEAST_BUSY:
        ids = [m.user_id for m in candidates]
        open_leads = dict(
            Lead.objects.filter(responsible_id__in=ids)
            .exclude(status=Lead.Status.CLOSED)
            .values_list("responsible_id")
            .annotate(n=Count("id"))
        )
        chosen = min(
            candidates,
            key=lambda m: (open_leads.get(m.user_id, 0), m.last_assigned_at or datetime.datetime.min.replace(tzinfo=datetime.UTC), m.id),
        )
    else:
        epoch = datetime.datetime.min.replace(tzinfo=datetime.UTC)
        chosen = min(candidates, key=lambda m: (m.last_assigned_at or epoch, m.id))
    if assign:
        QueueMember.objects.filter(pk=chosen.pk).update(
            last_assigned_at=timezone.now(), assigned_count=F("assigned_count") + 1
        )
    return chosen.user


def routing_decide(
    *,
    contact: Contact | None,
    channel: str,
    queue: Queue | None = None,
    now: datetime.datetime | None = None,
    assign: bool = True,
) -> Destination:
    """Where this contact's inbound ``channel`` traffic goes now.

    Order: non-target -> open deal's owner -> contact's owner -> the line's queue -> fallback.
    ``assign=False`` is the read-only form for live PBX requests and the what-if tester: a queue
    is answered as the queue itself instead of picking (and recording) a member.
    """
    cfg = RoutingSettings.load()
    if contact is not None and contact.non_target:
        if cfg.non_target_user is not None:
            return Destination("non_target", user=cfg.non_target_user, rule="settings.non_target_user", contact=contact)
        if cfg.non_target_queue is not None:
            target = cfg.non_target_queue
            member = _pick_member(target, now, assign=True) if assign else None
            return Destination("non_target", user=member, queue=target, rule=f"queue:{target.code}", contact=contact)
        return Destination("non_target", user=_fallback_user(cfg), rule="fallback_user", contact=contact)
    team_queue = queue or cfg.default_queue
    if contact is not None:
        deal = (
            Deal.objects.filter(contact=contact, stage__kind=Stage.Kind.OPEN, responsible__isnull=False)
            .select_related("responsible")
            .order_by("-updated_at")
            .first()
        )
        if deal is not None and user_available(deal.responsible, now):
            return Destination("open_deal", user=deal.responsible, rule=f"deal:{deal.pk}", contact=contact)
        owner = contact.responsible
        if owner is not None and user_available(owner, now):
            return Destination("contact_owner", user=owner, rule="contact.responsible", contact=contact)
        # Off shift: the team queue takes it if anyone there works now, else the owner next morning.
        absent_owner = deal.responsible if deal is not None else owner
        if absent_owner is not None and absent_owner.is_active:
            if team_queue is not None and any(
                user_available(m.user, now) for m in QueueMember.objects.filter(queue=team_queue).select_related("user")
            ):
                member = _pick_member(team_queue, now, assign=True) if assign else None
                return Destination("queue", user=member, queue=team_queue, rule=f"owner_off_shift:{absent_owner.pk}", contact=contact)
            reason = "open_deal" if deal is not None else "contact_owner"
            return Destination(reason, user=absent_owner, rule="owner_off_shift_no_cover", contact=contact)
    if team_queue is not None and team_queue.is_active and team_queue.memberships.exists():
        member = _pick_member(team_queue, now, assign=True) if assign else None
        if member is not None or not assign:
            return Destination("queue", user=member, queue=team_queue, rule=f"queue:{team_queue.code}", contact=contact)
    return Destination("fallback", user=_fallback_user(cfg), rule="fallback_user", contact=contact)


@transaction.atomic
def routing_decision_record(*, destination: Destination, channel: str, input: dict[str, Any], live: bool = False) -> RoutingDecision:
    return RoutingDecision.objects.create(
        channel=channel,
        input=input,
        contact=destination.contact,
        reason=destination.reason,
        rule=destination.rule,
        user=destination.user,
        queue=destination.queue,
        live=live,
    )

"""``routing_decide``: the one function that says where any channel's contact goes (DESIGN order)."""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.comms.models import Interaction
from otdel.core.changelog import record_change
from otdel.core.context import acting_as
from otdel.core.exceptions import ConflictError, field_error
from otdel.core.identity import normalize_identity
from otdel.core.models import ObjectChange
from otdel.crm.models import Contact, Lead
from otdel.routing.decide import Destination, RoutingFacts, decide
from otdel.routing.models import BlockedIdentity, Queue, QueueMember, RoutingDecision, RoutingSettings
from otdel.routing.selectors import queue_by_code, routing_facts_for_contact, snapshot_knowing
from otdel.routing.snapshot import RoutingSnapshot, routing_snapshot, routing_snapshot_clear


def _local_now(now: datetime.datetime | None) -> datetime.datetime:
    return timezone.localtime(now or timezone.now())


def _pick_member(
    queue: Queue,
    now: datetime.datetime | None,
    *,
    assign: bool,
    on_shift_only: bool = True,
    snapshot: RoutingSnapshot | None = None,
) -> User | None:
    """Choose who in ``queue`` takes the next contact; with ``assign`` record it (under a row lock).

    Round robin takes the member idle the longest (fair across restarts); least busy takes the one
    with the fewest open leads plus unanswered interactions.
    """
    picked = _pick_members(queue, now, 1, assign=assign, on_shift_only=on_shift_only, snapshot=snapshot)
    return picked[0] if picked else None


def _pick_members(
    queue: Queue,
    now: datetime.datetime | None,
    count: int,
    *,
    assign: bool,
    on_shift_only: bool = True,
    snapshot: RoutingSnapshot | None = None,
) -> list[User]:
    """``count`` picks of ``queue`` in a row, exactly as ``count`` calls of ``_pick_member`` would
    choose them (each pick makes its member the most recently assigned), with
    the queue read and locked once and each member's turn written once. [] when nobody is at work."""
    moment = _local_now(now)
    if assign:
        # Lock the queue row so two concurrent requests never pick the same "longest idle" member.
        Queue.objects.select_for_update().filter(pk=queue.pk).values_list("pk", flat=True).first()
    # Only what the choice needs is read under the lock (it is held until commit); the people's
    # hours and today's absences come from the snapshot.
    members = list(
        QueueMember.objects.filter(queue=queue, user__is_active=True)
        .order_by("id")
        .values_list("id", "user_id", "last_assigned_at")
    )
    snapshot = snapshot or routing_snapshot(moment.date())
    if not snapshot.knows([user_id for _id, user_id, _at in members]):
        snapshot = routing_snapshot(moment.date(), refresh=True)
    people = snapshot.users
    if on_shift_only:
        members = [m for m in members if m[1] not in snapshot.absent and people[m[1]].on_shift(moment)]
    if not members or count < 1:
        return []
    epoch = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    least_busy = queue.strategy == Queue.Strategy.LEAST_BUSY
    load = _workload([user_id for _id, user_id, _at in members]) if least_busy else {}
    # Per member: (its load, when it was last given one, the order of this batch's picks, its id).
    turns: dict[int, tuple[int, datetime.datetime, int, int]] = {
        m[0]: (load.get(m[1], 0) if least_busy else 0, m[2] or epoch, 0, m[0]) for m in members
    }
    user_of = {m[0]: m[1] for m in members}
    stamp = timezone.now()
    picks: list[int] = []
    for n in range(count):
        chosen = min(turns, key=lambda pk: turns[pk])
        busy, _at, _order, pk = turns[chosen]  # a pick adds no lead: the load stays as read
        turns[chosen] = (busy, stamp, n + 1, pk)
        picks.append(chosen)
    if assign:
        given: dict[int, tuple[int, int]] = {}  # member -> (how many, the order of its last pick)
        for n, member in enumerate(picks):
            given[member] = (given.get(member, (0, 0))[0] + 1, n)
        for member, (times, last) in given.items():
            # A later pick is a later time, so the next call finds the same order as one by one.
            QueueMember.objects.filter(pk=member).update(
                last_assigned_at=stamp + datetime.timedelta(microseconds=last),
                assigned_count=F("assigned_count") + times,
            )
    return [people[user_of[member]] for member in picks]


def routing_owners(
    *, count: int, channel: str, now: datetime.datetime | None = None, snapshot: RoutingSnapshot | None = None
) -> list[User | None]:
    """Owners for ``count`` new people nothing is known about yet (an import batch): what
    ``routing_decide(contact=None, assign=True)`` gives each, decided once and with the queue's
    members picked in one pass (their turns recorded as if one by one)."""
    moment = _local_now(now)
    if snapshot is None or snapshot.day != moment.date():
        snapshot = routing_snapshot(moment.date())
    destination = decide(RoutingFacts(), snapshot, moment, channel=channel, queue_id=None)
    while destination.pick is not None:
        plan = destination.pick
        picked = _pick_members(
            plan.queue, moment, count, assign=True, on_shift_only=plan.on_shift_only, snapshot=snapshot
        )
        if picked:
            return list(picked)
        destination = plan.otherwise
    return [destination.user] * count


def queue_next_member(
    *, queue: Queue, now: datetime.datetime | None = None, exclude: User | None = None
) -> User | None:
    """The next person of ``queue`` at work (by the queue's strategy), their turn recorded; None when
    nobody is at work. ``exclude``: someone who must not get it (the person it is taken from), unless
    they are the only one at work."""
    person = _pick_member(queue, now, assign=True)
    if person is not None and exclude is not None and person.pk == exclude.pk:
        person = _pick_member(queue, now, assign=True) or person
    return person


def _workload(user_ids: list[int]) -> dict[int, int]:
    """Open leads plus unanswered inbound interactions per user."""
    load: dict[int, int] = dict(
        Lead.objects.filter(responsible_id__in=user_ids)
        .exclude(status=Lead.Status.CLOSED)
        .values_list("responsible_id")
        .annotate(n=Count("id"))
    )
    unanswered = (
        Interaction.objects.filter(routed_to_id__in=user_ids, direction="in", handled_at__isnull=True)
        .values_list("routed_to_id")
        .annotate(n=Count("id"))
    )
    for user_id, n in unanswered:
        load[user_id] = load.get(user_id, 0) + n
    return load


def _carry_out(destination: Destination, moment: datetime.datetime, snapshot: RoutingSnapshot) -> Destination:
    """Turn "a member of this queue" into a person and record the turn; else follow the plan's fallbacks."""
    while destination.pick is not None:
        plan = destination.pick
        member = _pick_member(
            plan.queue, moment, assign=True, on_shift_only=plan.on_shift_only, snapshot=snapshot
        )
        if member is not None:
            return Destination(
                plan.reason,
                user=member,
                queue=plan.queue,
                rule=plan.rule,
                contact=destination.contact,
                contact_id=destination.contact_id,
            )
        destination = plan.otherwise
    return destination


def routing_decide(
    *,
    contact: Contact | None,
    channel: str,
    queue: Queue | None = None,
    now: datetime.datetime | None = None,
    assign: bool = True,
    identity: tuple[str, str] | None = None,
    snapshot: RoutingSnapshot | None = None,
) -> Destination:
    """Where this contact's inbound ``channel`` traffic goes now.

    Order: non-target -> open deal's owner (or their backup) -> contact's owner (or backup) ->
    the line's queue -> fallback. ``assign=False`` is the read-only form for live PBX requests and
    the what-if tester: a queue is answered as the queue itself, nothing is recorded. A caller
    deciding for many records in one transaction (an import batch) passes the ``snapshot`` it read
    before the transaction: inside one a fresh snapshot is kept only on commit, so an expired cache
    would be re-read for every record.

    The facts about the contact are read live (one query), the configuration comes from the routing
    snapshot, ``decide`` is pure, and only picking a queue member (``assign=True``) writes.
    """
    moment = _local_now(now)
    if snapshot is None or snapshot.day != moment.date():
        snapshot = routing_snapshot(moment.date())
    if contact is not None:
        facts = routing_facts_for_contact(
            contact=contact, identity=identity, check_blocked=bool(snapshot.blocked)
        )
    else:
        facts = RoutingFacts(identity=identity)
    queue_id = queue.pk if queue is not None else None
    snapshot = snapshot_knowing(snapshot, facts, queue_id)
    destination = decide(facts, snapshot, moment, channel=channel, queue_id=queue_id)
    if not assign:
        return replace(destination, pick=None)
    return _carry_out(destination, moment, snapshot)


@transaction.atomic
def routing_decision_record(
    *, destination: Destination, channel: str, input: dict[str, Any], live: bool = False
) -> RoutingDecision:
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


# --- settings --------------------------------------------------------------------------------


def _active_user(user_id: Any, field: str) -> User:
    user = User.objects.filter(pk=user_id).first() if user_id not in (None, "") else None
    if user is None or not user.is_active:
        raise field_error(field, _("No active user with id %(id)s.") % {"id": user_id}, "user_inactive")
    return user


def _usable_queue(code: Any, field: str) -> Queue:
    queue = queue_by_code(code, field=field)
    if queue is None:
        raise field_error(field, _("Choose a queue."), "required")
    if not queue.is_active or not queue.memberships.filter(user__is_active=True).exists():
        raise field_error(
            field,
            _("Queue “%(code)s” has no active members: nobody would get this traffic.") % {"code": code},
            "queue_empty",
        )
    return queue


@transaction.atomic
def queue_create(
    *,
    actor: Any,
    code: str,
    name: str,
    strategy: str = "round_robin",
    members: list[Any] | None = None,
    **fields: Any,
) -> Queue:
    if Queue.objects.filter(code=code).exists():
        raise ConflictError(
            _("A queue with code “%(code)s” already exists.") % {"code": code},
            code="queue_exists",
            field="code",
        )
    with acting_as(actor):
        queue = Queue(code=code, name=name, strategy=strategy, **fields)
        queue.full_clean(validate_unique=False)
        queue.save()
        queue_set_members(queue=queue, members=list(members or []))
        return queue


@transaction.atomic
def queue_update(*, actor: Any, queue: Queue, members: list[Any] | None = None, **fields: Any) -> Queue:
    with acting_as(actor):
        for name, value in fields.items():
            setattr(queue, name, value)
        queue.full_clean(validate_unique=False)
        queue.save()
        if members is not None:
            queue_set_members(queue=queue, members=members)
        return queue


def queue_set_members(*, queue: Queue, members: list[Any]) -> None:
    users = [m if isinstance(m, User) else _active_user(m, "members") for m in members]
    for user in users:
        if not user.is_active:
            _active_user(user.pk, "members")
    keep = {u.pk for u in users}
    QueueMember.objects.filter(queue=queue).exclude(user_id__in=keep).delete()
    existing = set(QueueMember.objects.filter(queue=queue).values_list("user_id", flat=True))
    QueueMember.objects.bulk_create([QueueMember(queue=queue, user=u) for u in users if u.pk not in existing])
    routing_snapshot_clear()  # bulk_create sends no post_save


@transaction.atomic
def routing_settings_update(
    *,
    actor: Any,
    non_target_destination: dict[str, Any] | None = None,
    default_queue: str | None = None,
    fallback_user: Any = None,
    repeat_rule: str | None = None,
    callback_minutes: int | None = None,
) -> RoutingSettings:
    """Change where traffic goes; refuses settings pointing at inactive users or empty queues."""
    cfg = RoutingSettings.load()
    if non_target_destination is not None:
        if "queue" in non_target_destination:
            cfg.non_target_queue = _usable_queue(non_target_destination["queue"], "non_target_destination")
            cfg.non_target_user = None
        elif "user" in non_target_destination:
            cfg.non_target_user = _active_user(non_target_destination["user"], "non_target_destination")
            cfg.non_target_queue = None
        else:
            raise field_error("non_target_destination", _('Give {"queue": code} or {"user": id}.'), "invalid")
    if default_queue is not None:
        cfg.default_queue = _usable_queue(default_queue, "default_queue") if default_queue else None
    if fallback_user is not None:
        cfg.fallback_user = _active_user(fallback_user, "fallback_user")
    if repeat_rule is not None:
        cfg.repeat_rule = repeat_rule
    if callback_minutes is not None:
        cfg.callback_minutes = callback_minutes
    with acting_as(actor):
        cfg.full_clean()
        cfg.save()
    return cfg


# --- blocked identities ----------------------------------------------------------------------


@transaction.atomic
def identity_block(*, actor: Any, kind: str, value: str, reason: str, comment: str = "") -> Any:
    """Block a phone/e-mail/chat on its own (a spam number that has no contact)."""
    normalized = normalize_identity(kind, value)
    block, created = BlockedIdentity.objects.get_or_create(
        kind=kind, value=normalized, defaults={"reason": reason, "comment": comment, "created_by": actor}
    )
    if created:
        record_change(
            block,
            ObjectChange.Action.CREATE,
            changes={"kind": kind, "value": normalized, "reason": reason},
            user=actor,
        )
    return block


@transaction.atomic
def identity_unblock(*, actor: Any, block: Any) -> None:
    record_change(
        block, ObjectChange.Action.DELETE, changes={"kind": block.kind, "value": block.value}, user=actor
    )
    block.delete()

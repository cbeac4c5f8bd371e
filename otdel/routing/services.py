"""``routing_decide``: the one function that says where any channel's contact goes (DESIGN order)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

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


def _pick_member(
    queue: Queue, now: datetime.datetime | None, *, assign: bool, on_shift_only: bool = True
) -> User | None:
    """Choose who in ``queue`` takes the next contact; with ``assign`` record it (under a row lock).

    Round robin takes the member idle the longest (fair across restarts); least busy takes the one
    with the fewest open leads plus unanswered interactions.
    """
    if assign:
        # Lock the queue row so two concurrent requests never pick the same "longest idle" member.
        Queue.objects.select_for_update().filter(pk=queue.pk).first()
    members = list(QueueMember.objects.filter(queue=queue, user__is_active=True).select_related("user"))
    candidates = [m for m in members if user_available(m.user, now)] if on_shift_only else members
    if not candidates:
        return None
    epoch = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    if queue.strategy == Queue.Strategy.LEAST_BUSY:
        load = _workload([m.user_id for m in candidates])
        chosen = min(candidates, key=lambda m: (load.get(m.user_id, 0), m.last_assigned_at or epoch, m.id))
    else:
        chosen = min(candidates, key=lambda m: (m.last_assigned_at or epoch, m.id))
    if assign:
        QueueMember.objects.filter(pk=chosen.pk).update(
            last_assigned_at=timezone.now(), assigned_count=F("assigned_count") + 1
        )
    return chosen.user


def _workload(user_ids: list[int]) -> dict[int, int]:
    """Open leads plus unanswered inbound interactions per user."""
    from otdel.comms.models import Interaction

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


def _queue_destination(
    queue: Queue,
    contact: Contact | None,
    channel: str,
    now: datetime.datetime | None,
    *,
    assign: bool,
    rule: str = "",
) -> Destination | None:
    """A member of ``queue`` who works now; when nobody does, the queue's off-hours behaviour."""
    rule = rule or f"queue:{queue.code}"
    if not assign:
        return Destination("queue", queue=queue, rule=rule, contact=contact)
    member = _pick_member(queue, now, assign=True)
    if member is not None:
        return Destination("queue", user=member, queue=queue, rule=rule, contact=contact)
    if queue.off_hours == "duty" and queue.duty_user is not None and queue.duty_user.is_active:
        return Destination("queue", user=queue.duty_user, queue=queue, rule=f"{rule}:duty", contact=contact)
    if queue.off_hours == "voicemail" and channel == "call" and queue.voicemail:
        return Destination(
            "queue",
            queue=queue,
            rule=f"{rule}:voicemail",
            contact=contact,
            extra={"voicemail": queue.voicemail},
        )
    # Next working morning: assign now to whoever's turn it is; they see it when they start.
    member = _pick_member(queue, now, assign=True, on_shift_only=False)
    if member is not None:
        return Destination("queue", user=member, queue=queue, rule=f"{rule}:next_morning", contact=contact)
    return None


def _owner_or_backup(user: User | None, now: datetime.datetime | None) -> tuple[User | None, str]:
    if user is None or not user.is_active:
        return None, ""
    if user_available(user, now):
        return user, ""
    backup = user.backup_on(_local_now(now).date())
    if backup is not None and user_available(backup, now):
        return backup, f":backup_of:{user.pk}"
    return None, ""


def routing_decide(
    *,
    contact: Contact | None,
    channel: str,
    queue: Queue | None = None,
    now: datetime.datetime | None = None,
    assign: bool = True,
    identity: tuple[str, str] | None = None,
) -> Destination:
    """Where this contact's inbound ``channel`` traffic goes now.

    Order: non-target -> open deal's owner (or their backup) -> contact's owner (or backup) ->
    the line's queue -> fallback. ``assign=False`` is the read-only form for live PBX requests and
    the what-if tester: a queue is answered as the queue itself, nothing is recorded.
    """
    cfg = RoutingSettings.load()
    if (contact is not None and (contact.non_target or _blocked(contact))) or (
        identity is not None and _identity_blocked(*identity)
    ):
        if cfg.non_target_user is not None and cfg.non_target_user.is_active:
            return Destination(
                "non_target", user=cfg.non_target_user, rule="settings.non_target_user", contact=contact
            )
        if cfg.non_target_queue is not None:
            target = cfg.non_target_queue
            member = _pick_member(target, now, assign=True, on_shift_only=False) if assign else None
            return Destination(
                "non_target", user=member, queue=target, rule=f"queue:{target.code}", contact=contact
            )
        return Destination("non_target", user=_fallback_user(cfg), rule="fallback_user", contact=contact)
    team_queue = queue or cfg.default_queue
    absent_owner = None
    if contact is not None:
        deal = (
            Deal.objects.filter(contact=contact, stage__kind=Stage.Kind.OPEN, responsible__isnull=False)
            .select_related("responsible")
            .order_by("-updated_at")
            .first()
        )
        if deal is not None:
            user, suffix = _owner_or_backup(deal.responsible, now)
            if user is not None:
                return Destination("open_deal", user=user, rule=f"deal:{deal.pk}{suffix}", contact=contact)
            absent_owner = deal.responsible
        user, suffix = _owner_or_backup(contact.responsible, now)
        if user is not None:
            return Destination(
                "contact_owner", user=user, rule=f"contact.responsible{suffix}", contact=contact
            )
        absent_owner = absent_owner or contact.responsible
    if team_queue is not None and team_queue.is_active and team_queue.memberships.exists():
        rule = f"queue:{team_queue.code}" + (f":owner_off_shift:{absent_owner.pk}" if absent_owner else "")
        if absent_owner is not None and absent_owner.is_active and assign:
            # The owner is off: someone in the team who works now takes it, else the owner next morning.
            member = _pick_member(team_queue, now, assign=True)
            if member is not None:
                return Destination("queue", user=member, queue=team_queue, rule=rule, contact=contact)
            return Destination("contact_owner", user=absent_owner, rule="owner_next_morning", contact=contact)
        destination = _queue_destination(team_queue, contact, channel, now, assign=assign, rule=rule)
        if destination is not None:
            return destination
    elif absent_owner is not None and absent_owner.is_active:
        return Destination("contact_owner", user=absent_owner, rule="owner_next_morning", contact=contact)
    return Destination("fallback", user=_fallback_user(cfg), rule="fallback_user", contact=contact)


def _identity_blocked(kind: str, value: str) -> bool:
    from otdel.routing.models import BlockedIdentity

    return BlockedIdentity.objects.filter(kind=kind, value=value).exists()


def _blocked(contact: Contact) -> bool:
    from otdel.routing.models import BlockedIdentity

    pairs = list(contact.identities.values_list("kind", "value"))
    if not pairs:
        return False
    q = Q()
    for kind, value in pairs:
        q |= Q(kind=kind, value=value)
    return BlockedIdentity.objects.filter(q).exists()


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
    from otdel.core.exceptions import field_error

    user = User.objects.filter(pk=user_id).first() if user_id not in (None, "") else None
    if user is None or not user.is_active:
        raise field_error(field, _("No active user with id %(id)s.") % {"id": user_id}, "user_inactive")
    return user


def _usable_queue(code: Any, field: str) -> Queue:
    from otdel.core.exceptions import field_error

    queue = Queue.objects.filter(code=code).first() if code else None
    if queue is None:
        raise field_error(field, _("No queue with code “%(code)s”.") % {"code": code}, "queue_unknown")
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
    from otdel.core.context import acting_as
    from otdel.core.exceptions import ConflictError

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
    from otdel.core.context import acting_as

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
    from otdel.core.context import acting_as
    from otdel.core.exceptions import field_error

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


# --- non-target marking --------------------------------------------------------------------


@transaction.atomic
def contact_mark_non_target(*, actor: Any, contact: Contact, reason: str) -> Contact:
    """Mark a contact (and so all its identities) non-target; audited, reversible, nothing deleted."""
    from otdel.core.context import acting_as
    from otdel.core.exceptions import field_error
    from otdel.crm.models import NonTargetReason

    if reason not in NonTargetReason.values:
        raise field_error(
            "reason",
            _("Choose a reason: %(values)s.") % {"values": ", ".join(NonTargetReason.values)},
            "invalid_reason",
        )
    with acting_as(actor):
        contact.non_target, contact.non_target_reason = True, reason
        contact.save()
    return contact


@transaction.atomic
def identity_block(*, actor: Any, kind: str, value: str, reason: str, comment: str = "") -> Any:
    """Block a phone/e-mail/chat on its own (a spam number that has no contact)."""
    from otdel.core.changelog import record_change
    from otdel.core.identity import normalize_identity
    from otdel.core.models import ObjectChange
    from otdel.routing.models import BlockedIdentity

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
    from otdel.core.changelog import record_change
    from otdel.core.models import ObjectChange

    record_change(
        block, ObjectChange.Action.DELETE, changes={"kind": block.kind, "value": block.value}, user=actor
    )
    block.delete()

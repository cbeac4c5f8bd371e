"""The routing configuration snapshot: settings, queues, people, today's absences, blocks, lines.

Routing reads the same few small tables for every call, e-mail and form. A snapshot of them is
kept in-process for ``OTDEL_ROUTING_CACHE_SECONDS`` (default 5 s) and dropped as soon as one of
those rows is saved or deleted in this process; other processes see the change within the TTL.
A snapshot read inside a transaction is kept only once that transaction commits, so uncommitted
(or rolled back) rows never reach the cache.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from otdel.accounts.models import Absence, Role, User
from otdel.comms.models import TelephonyLine
from otdel.routing.models import BlockedIdentity, Queue, QueueMember, RoutingSettings

DEFAULT_CACHE_SECONDS = 5.0


def cache_seconds() -> float:
    """How long a snapshot may be reused; 0 turns the cache off."""
    value: Any = getattr(settings, "OTDEL_ROUTING_CACHE_SECONDS", None)
    if value is None:
        value = os.environ.get("OTDEL_ROUTING_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
    return float(value)


@dataclass(frozen=True)
class QueueConfig:
    queue: Queue
    # Every membership, active user or not (the "queue has members" test counts them all).
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class RoutingSnapshot:
    day: datetime.date
    settings: RoutingSettings
    queues: dict[int, QueueConfig]
    users: dict[int, User]
    absent: frozenset[int]
    backups: dict[int, int]
    blocked: frozenset[tuple[str, str]]
    lines: dict[str, int | None]
    generation: int = 0
    built_at: float = field(default_factory=time.monotonic)

    def user(self, user_id: int | None) -> User | None:
        return self.users.get(user_id) if user_id is not None else None

    def queue(self, queue_id: int | None) -> QueueConfig | None:
        return self.queues.get(queue_id) if queue_id is not None else None

    def available(self, user: User | None, moment: datetime.datetime) -> bool:
        """Active, on shift now and not absent today: may take traffic right now."""
        return bool(
            user is not None and user.is_active and user.on_shift(moment) and user.pk not in self.absent
        )

    def backup_of(self, user: User) -> User | None:
        return self.user(self.backups.get(user.pk))

    @cached_property
    def fallback(self) -> User | None:
        """The last-resort person: the configured one if active, else the first office manager."""
        chosen = self.user(self.settings.fallback_user_id)
        if chosen is not None and chosen.is_active:
            return chosen
        managers = [u for u in self.users.values() if u.role == Role.OFFICE_MANAGER and u.is_active]
        return min(managers, key=lambda u: u.pk) if managers else None

    def knows(self, user_ids: list[int | None]) -> bool:
        return all(u is None or u in self.users for u in user_ids)


def _build(day: datetime.date, generation: int) -> RoutingSnapshot:
    # Read-only: a missing settings row is answered with defaults instead of being created here.
    cfg = RoutingSettings.objects.order_by("pk").first() or RoutingSettings()
    members: dict[int, list[int]] = {}
    for queue_id, user_id in QueueMember.objects.order_by("id").values_list("queue_id", "user_id"):
        members.setdefault(queue_id, []).append(user_id)
    queues = {q.pk: QueueConfig(q, tuple(members.get(q.pk, ()))) for q in Queue.objects.all()}
    absent: set[int] = set()
    backups: dict[int, int] = {}
    for user_id, backup_id in (
        Absence.objects.filter(start__lte=day, end__gte=day)
        .order_by("-start", "id")
        .values_list("user_id", "backup_id")
    ):
        absent.add(user_id)
        if backup_id is not None:
            backups.setdefault(user_id, backup_id)
    return RoutingSnapshot(
        day=day,
        settings=cfg,
        queues=queues,
        users={u.pk: u for u in User.objects.all()},
        absent=frozenset(absent),
        backups=backups,
        blocked=frozenset(BlockedIdentity.objects.values_list("kind", "value")),
        lines=dict(TelephonyLine.objects.values_list("number", "queue_id")),
        generation=generation,
    )


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rereading = threading.Lock()
        self.generation = 0
        self.snapshot: RoutingSnapshot | None = None

    def store(self, snapshot: RoutingSnapshot) -> None:
        with self.lock:
            # A change committed while this one was being read makes it stale: keep nothing.
            if snapshot.generation == self.generation:
                self.snapshot = snapshot

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.snapshot = None


_cache = _Cache()


def routing_snapshot(day: datetime.date, *, refresh: bool = False) -> RoutingSnapshot:
    """The routing configuration as of now for ``day`` (local date), from the cache when fresh.

    When the cached one expires, one thread re-reads it while the others go on answering from the
    expired one (for at most another TTL), so a busy process never re-reads it many times at once.
    """
    ttl = cache_seconds()
    cached = _cache.snapshot
    rereading = False
    if not refresh and ttl > 0 and cached is not None and cached.day == day:
        age = time.monotonic() - cached.built_at
        if age < ttl:
            return cached
        rereading = _cache.rereading.acquire(blocking=False)
        if not rereading and age < 2 * ttl:
            return cached
    try:
        snapshot = _build(day, _cache.generation)
        if ttl > 0:
            if connection.in_atomic_block:
                transaction.on_commit(partial(_cache.store, snapshot))
            else:
                _cache.store(snapshot)
    finally:
        if rereading:
            _cache.rereading.release()
    return snapshot


def routing_snapshot_clear(**kwargs: Any) -> None:
    """Forget the snapshot now and again when the current transaction commits.

    The second clear covers a snapshot another thread read between the write and the commit.
    """
    _cache.clear()
    if connection.in_atomic_block:
        transaction.on_commit(_cache.clear)


for _model in (RoutingSettings, Queue, QueueMember, User, Absence, BlockedIdentity, "comms.TelephonyLine"):
    post_save.connect(routing_snapshot_clear, sender=_model, dispatch_uid=f"routing-snapshot-save-{_model}")
    post_delete.connect(
        routing_snapshot_clear, sender=_model, dispatch_uid=f"routing-snapshot-delete-{_model}"
    )
m2m_changed.connect(routing_snapshot_clear, sender=Queue.members.through, dispatch_uid="routing-snapshot-m2m")
# ``flush`` (between transactional tests, or by an admin) empties tables without model signals.
post_migrate.connect(routing_snapshot_clear, dispatch_uid="routing-snapshot-migrate")

"""Every domain event some rule or SLA policy listens to goes to the worker, where rules and SLA
clocks look at it (never in the request: the request only enqueues it, and only when something
listens — which events do is kept in memory for a few seconds, cleared at once on a rule change)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from otdel.automation.models import EventOutbox, Rule, SlaPolicy
from otdel.automation.sla import SLA_EVENTS
from otdel.core.events import DomainEvent, subscribe_all, subscribe_in_transaction

logger = logging.getLogger(__name__)
# Other processes (workers, other web processes) see a rule change after at most this long.
LISTENING_TTL_SECONDS = 10.0
_listening: dict[str, object] = {"at": 0.0, "events": frozenset()}


def listened_events() -> frozenset[str]:
    if time.monotonic() - float(_listening["at"]) > LISTENING_TTL_SECONDS:  # type: ignore[arg-type]
        events = set(Rule.objects.filter(is_active=True, paused_reason="").values_list("event", flat=True))
        if SlaPolicy.objects.filter(is_active=True).exists():
            events |= SLA_EVENTS
        _listening.update(at=time.monotonic(), events=frozenset(events))
    return _listening["events"]  # type: ignore[return-value]


@receiver([post_save, post_delete], sender=Rule)
@receiver([post_save, post_delete], sender=SlaPolicy)
def _forget(**kwargs: object) -> None:
    _listening["at"] = 0.0


def _on_database_queue() -> bool:
    from otdel.automation.tasks import events_drain
    from otdel.core.scheduler import on_database_backend

    return on_database_backend(events_drain)


@subscribe_in_transaction
def outbox_write(event: DomainEvent) -> None:
    """On the database task queue, the event is written to the outbox in the transaction that made
    it: it commits with the change (nothing lost, nothing for a rolled-back change) and costs the
    request one plain INSERT (bench/automation_request.py); a drain is woken after the commit, at
    most once per ``WAKE_SECONDS`` per process (the periodic ``runs_drain`` sweeps the rest)."""
    if event.name in listened_events() and _on_database_queue():
        EventOutbox.objects.create(
            event=event.name,
            payload=_plain(event.payload()),
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            occurrence=uuid.uuid4().hex,
        )
        transaction.on_commit(outbox_wake)


WAKE_SECONDS = 1.0
_wake = {"due": 0.0}
_wake_lock = threading.Lock()


def outbox_wake() -> None:
    if time.monotonic() < _wake["due"]:
        return
    with _wake_lock:
        if time.monotonic() < _wake["due"]:
            return
        from otdel.automation.tasks import events_drain

        try:
            events_drain.using(run_after=timezone.now() + timedelta(seconds=WAKE_SECONDS)).enqueue()
        except Exception:  # the events are stored; the periodic sweep drains them
            logger.exception("could not queue the automation outbox drain")
            return
        _wake["due"] = time.monotonic() + WAKE_SECONDS


def outbox_wake_reset() -> None:
    _wake["due"] = 0.0


@subscribe_all
def enqueue_event(event: DomainEvent) -> None:
    """Other task backends (the immediate one of the tests): one task per event, after commit."""
    if event.name in listened_events() and not _on_database_queue():
        from otdel.automation.tasks import rules_match

        rules_match.enqueue(
            event.name, _plain(event.payload()), event.subject_type, event.subject_id, uuid.uuid4().hex
        )


def _plain(payload: dict[str, object]) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in payload.items()}

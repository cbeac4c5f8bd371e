"""Every domain event some rule or SLA policy listens to goes to the worker, where rules and SLA
clocks look at it (never in the request: the request only enqueues it, and only when something
listens — which events do is kept in memory for a few seconds, cleared at once on a rule change)."""

from __future__ import annotations

import logging
import time
import uuid

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from otdel.automation.models import Rule, SlaPolicy
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
    from otdel.automation.tasks import rules_match
    from otdel.core.scheduler import on_database_backend

    return on_database_backend(rules_match)


@subscribe_in_transaction
def enqueue_event_with_the_change(event: DomainEvent) -> None:
    """On the database task queue, the match is queued in the transaction that made the event: it
    commits with the change (nothing lost, nothing for a rolled-back change) and costs the request
    one INSERT, not a commit of its own (bench/automation_request.py)."""
    if event.name in listened_events() and _on_database_queue():
        _enqueue(event)


@subscribe_all
def enqueue_event(event: DomainEvent) -> None:
    """Other task backends (the immediate one of the tests): after commit."""
    if event.name in listened_events() and not _on_database_queue():
        _enqueue(event)


def _enqueue(event: DomainEvent) -> None:
    from otdel.automation.tasks import rules_match

    rules_match.enqueue(
        event.name, _plain(event.payload()), event.subject_type, event.subject_id, uuid.uuid4().hex
    )


def _plain(payload: dict[str, object]) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in payload.items()}

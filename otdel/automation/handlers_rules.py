"""Every domain event goes to the worker, where rules and SLA clocks look at it (never the request)."""

from __future__ import annotations

import logging
import uuid

from otdel.core.events import DomainEvent, subscribe_all

logger = logging.getLogger(__name__)


@subscribe_all
def enqueue_event(event: DomainEvent) -> None:
    from otdel.automation.tasks import rules_match

    rules_match.enqueue(
        event.name, _plain(event.payload()), event.subject_type, event.subject_id, uuid.uuid4().hex
    )


def _plain(payload: dict[str, object]) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in payload.items()}

"""Background work of automation: matching events to rules and running what is due."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from otdel.automation import delivery, rules, sla, webhooks
from otdel.core.scheduler import register_periodic


@task()
def rules_match(
    event: str, payload: dict[str, Any], subject_type: str, subject_id: int | None, occurrence: str
) -> int:
    made = rules.rules_match(
        event=event, payload=payload, subject_type=subject_type, subject_id=subject_id, occurrence=occurrence
    )
    made += sla.sla_on_event(event=event, payload=payload)
    if made:
        rules.runs_drain()
        webhooks.webhooks_drain()
    return made


@task()
def events_drain() -> int:
    """Queued events (the outbox), then what they made due."""
    made = rules.outbox_drain()
    rules.runs_drain()
    webhooks.webhooks_drain()
    return made


@task()
def runs_drain() -> int:
    """Queued events, due rule runs and SLA clocks, webhooks (the scheduler enqueues this every 30
    seconds: whatever a missed wake-up left behind is picked up here)."""
    return rules.outbox_drain() + rules.runs_drain() + sla.timers_drain() + webhooks.webhooks_drain()


@task()
def tasks_overdue() -> int:
    """``task.overdue`` for tasks whose due time passed (the scheduler enqueues it every minute)."""
    return rules.tasks_overdue_emit()


@task()
def notifications_deliver() -> int:
    """E-mail and Telegram deliveries of notifications that are due (also every 30 seconds)."""
    return delivery.deliveries_drain()


@task()
def tasks_remind() -> int:
    """Reminders before tasks are due (every minute)."""
    return delivery.tasks_remind()


register_periodic("automation.runs_drain", 30, runs_drain)
register_periodic("automation.notifications_deliver", 30, notifications_deliver)
register_periodic("automation.tasks_remind", 60, tasks_remind)
register_periodic("automation.tasks_overdue", 60, tasks_overdue)

"""Background jobs of the comms app."""

from __future__ import annotations

import datetime
import time

from django.utils import timezone
from django_tasks import TaskContext, task

from otdel.comms.models import IntakeLog
from otdel.core.conf import int_setting
from otdel.core.scheduler import on_database_backend, register_periodic

# The scheduler queues a drain this often whatever happens (crashed workers, lost wake-ups).
SWEEP_SECONDS = 60
# A drain looks around after this many deliveries: it makes sure another drain waits for a free
# worker while deliveries are left, and gives its worker back when other tasks wait (mail,
# recordings) or it has run for DRAIN_SECONDS (so a stopping worker is not held up for long).
DRAIN_SLICE = 100
DRAIN_SECONDS = 10.0


def _waiting(current: str) -> tuple[bool, bool]:
    """(Is another drain due and waiting?, is any other task?) Database backend only."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.ready().exclude(id=current)
    drains = waiting.filter(task_path=intake_drain.module_path)
    return drains.exists(), waiting.exclude(task_path=intake_drain.module_path).exists()


# Below the default: a worker that frees up takes waiting mail, recordings etc. before the next drain.
DRAIN_PRIORITY = -10


@task(takes_context=True, priority=DRAIN_PRIORITY)
def intake_drain(context: TaskContext) -> int:
    """Process received intake-log rows until none is left (see ``comms.intake``); returns how many.

    Drains run side by side, one per free worker, each taking different rows.
    """
    from otdel.comms.intake import intake_drain_now  # a real cycle: intake enqueues these tasks

    total = 0
    looks_around = on_database_backend(intake_drain)  # an inline backend runs nothing else meanwhile
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        done, empty = intake_drain_now(batch=DRAIN_SLICE)
        total += done
        if empty:
            return total
        if not looks_around:
            continue
        drain_waiting, others_waiting = _waiting(str(context.task_result.id))
        if not drain_waiting:
            # A second worker may help now; and whoever stops next leaves a successor behind.
            intake_drain.enqueue()
        if others_waiting or time.monotonic() >= deadline:
            return total


@task()
def intake_process(intake_id: int) -> None:
    """One delivery by id: tasks queued before the intake log became the queue still run."""
    from otdel.comms.intake import intake_process_next  # a real cycle: intake enqueues these tasks

    intake_process_next(pk=intake_id)


# The intake log keeps every delivery as received. A processed one lives on as its interaction
# (which keeps the payload), so its row goes after a month; refused and failed ones, which only
# the log remembers, after three.
INTAKE_KEEP_DAYS = 30
INTAKE_KEEP_REFUSED_DAYS = 90
PRUNE_BATCH = 5000


@task()
def intake_log_prune() -> int:
    """Delete old intake-log rows (``OTDEL_INTAKE_KEEP_DAYS`` / ``OTDEL_INTAKE_KEEP_REFUSED_DAYS``)
    in batches; rows still waiting to be processed are never touched. Returns how many went."""
    now = timezone.now()
    total = 0
    ages = (
        ([IntakeLog.Status.PROCESSED], int_setting("OTDEL_INTAKE_KEEP_DAYS", INTAKE_KEEP_DAYS)),
        (
            [IntakeLog.Status.REJECTED, IntakeLog.Status.FAILED],
            int_setting("OTDEL_INTAKE_KEEP_REFUSED_DAYS", INTAKE_KEEP_REFUSED_DAYS),
        ),
    )
    for statuses, days in ages:
        old = IntakeLog.objects.filter(
            status__in=statuses, created_at__lt=now - datetime.timedelta(days=days)
        )
        while ids := list(old.order_by("id").values_list("id", flat=True)[:PRUNE_BATCH]):
            total += IntakeLog.objects.filter(pk__in=ids).delete()[0]
    return total


register_periodic("comms.intake_drain", SWEEP_SECONDS, intake_drain)
register_periodic("comms.intake_log_prune", 24 * 60 * 60, intake_log_prune)

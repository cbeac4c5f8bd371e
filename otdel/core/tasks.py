"""Housekeeping of the background task queue itself."""

from __future__ import annotations

import datetime
import os

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from otdel.core.scheduler import register_periodic

# Finished tasks are kept for a while (the admin may look at what ran), failed ones longer.
KEEP_DAYS = 7
KEEP_FAILED_DAYS = 30


def _days(name: str, default: int) -> int:
    return int(getattr(settings, name, None) or os.environ.get(name) or default)


@task()
def task_results_prune() -> int:
    """Delete finished task results older than ``OTDEL_TASK_RESULTS_KEEP_DAYS`` (failed ones:
    ``OTDEL_TASK_RESULTS_KEEP_FAILED_DAYS``); returns how many went.

    The worker's periodic jobs (mail polling, the intake sweep) alone add thousands a day.
    Only the database task backend keeps results in the database; others have nothing to prune.
    """
    backend = task_results_prune.get_backend()
    if type(backend).__module__.split(".")[0] != "django_tasks_db":
        return 0
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done = DBTaskResult.objects.filter(
        status="SUCCESSFUL",
        finished_at__lt=now - datetime.timedelta(days=_days("OTDEL_TASK_RESULTS_KEEP_DAYS", KEEP_DAYS)),
    )
    failed = DBTaskResult.objects.filter(
        status="FAILED",
        finished_at__lt=now
        - datetime.timedelta(days=_days("OTDEL_TASK_RESULTS_KEEP_FAILED_DAYS", KEEP_FAILED_DAYS)),
    )
    return done.delete()[0] + failed.delete()[0]


register_periodic("core.task_results_prune", 6 * 60 * 60, task_results_prune)

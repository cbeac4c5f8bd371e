"""Housekeeping of the background task queue itself."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task

from otdel.core.conf import int_setting
from otdel.core.scheduler import on_database_backend, register_periodic

# Finished tasks are kept for a while (the admin may look at what ran), failed ones longer.
KEEP_DAYS = 7
KEEP_FAILED_DAYS = 30


@task()
def task_results_prune() -> int:
    """Delete finished task results older than ``OTDEL_TASK_RESULTS_KEEP_DAYS`` (failed ones:
    ``OTDEL_TASK_RESULTS_KEEP_FAILED_DAYS``); returns how many went.

    The worker's periodic jobs (mail polling, the intake sweep) alone add thousands a day.
    Only the database task backend keeps results in the database; others have nothing to prune.
    """
    if not on_database_backend(task_results_prune):
        return 0
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done = DBTaskResult.objects.filter(
        status="SUCCESSFUL",
        finished_at__lt=now - datetime.timedelta(days=int_setting("OTDEL_TASK_RESULTS_KEEP_DAYS", KEEP_DAYS)),
    )
    failed = DBTaskResult.objects.filter(
        status="FAILED",
        finished_at__lt=now
        - datetime.timedelta(days=int_setting("OTDEL_TASK_RESULTS_KEEP_FAILED_DAYS", KEEP_FAILED_DAYS)),
    )
    return done.delete()[0] + failed.delete()[0]


register_periodic("core.task_results_prune", 6 * 60 * 60, task_results_prune)

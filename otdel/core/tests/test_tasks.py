"""The task queue does not grow forever: finished results are pruned on a schedule."""

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from otdel.core.scheduler import run_due
from otdel.core.tasks import task_results_prune


@pytest.fixture
def db_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _result(status, days_ago):
    result = task_results_prune.enqueue()
    finished = timezone.now() - datetime.timedelta(days=days_ago)
    DBTaskResult.objects.filter(id=result.id).update(status=status, finished_at=finished)
    return str(result.id)


@pytest.mark.django_db
def test_old_finished_results_go_and_the_rest_stay(db_backend):
    old_ok, old_failed = _result("SUCCESSFUL", 8), _result("FAILED", 31)
    keep = {_result("SUCCESSFUL", 2), _result("FAILED", 10)}
    waiting = str(task_results_prune.enqueue().id)  # never ran: not touched, however old
    DBTaskResult.objects.filter(id=waiting).update(enqueued_at=timezone.now() - datetime.timedelta(days=90))

    assert task_results_prune.call() == 2
    left = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
    assert old_ok not in left and old_failed not in left
    assert keep | {waiting} <= left


@pytest.mark.django_db
def test_the_scheduler_runs_it(db_backend):
    assert "core.task_results_prune" in run_due()

"""Periodic jobs are enqueued once per period, however many schedulers run."""

import datetime

import pytest
from django_tasks import task

from otdel.core import scheduler
from otdel.core.models import ScheduledJob

RUNS: list[int] = []


@task()
def _tick() -> None:
    RUNS.append(1)


@pytest.mark.django_db
def test_due_job_runs_once_per_period(monkeypatch):
    monkeypatch.setattr(scheduler, "_registry", {})
    scheduler.register_periodic("test.tick", 60, _tick)
    RUNS.clear()
    t0 = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)
    assert scheduler.run_due(t0) == ["test.tick"]
    # A second scheduler (or the same one a second later) finds nothing due.
    assert scheduler.run_due(t0 + datetime.timedelta(seconds=1)) == []
    assert scheduler.run_due(t0 + datetime.timedelta(seconds=61)) == ["test.tick"]
    assert len(RUNS) == 2
    assert ScheduledJob.objects.get().next_run_at == t0 + datetime.timedelta(seconds=121)

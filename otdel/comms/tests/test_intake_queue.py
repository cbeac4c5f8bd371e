"""The intake log as the work queue: one row per delivery, drains that process each exactly once.

These tests run the database task backend (as shipped), with real commits: two drains side by
side, a worker process killed while it holds a delivery, the periodic sweep, a drain making room
for other tasks.
"""

import datetime
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from otdel.comms import tasks
from otdel.comms.intake import intake_accept, intake_drain_now, intake_wake_reset
from otdel.comms.models import IntakeLog, Interaction
from otdel.comms.tasks import intake_drain, intake_process
from otdel.core.scheduler import run_due

URL = "/api/v1/telephony/events"
ROOT = Path(django_settings.BASE_DIR)


def _call(call_id, *, missed=False):
    base = {"call_id": call_id, "direction": "in", "caller": "+7 912 345-67-89", "called": "+74951234567"}
    if missed:
        return [
            {**base, "event": "ringing", "at": "2026-11-26T10:00:00+03:00"},
            {**base, "event": "ended", "status": "missed", "at": "2026-11-26T10:00:30+03:00"},
        ]
    return [
        {**base, "event": "ringing", "at": "2026-11-26T10:00:00+03:00"},
        {**base, "event": "answered", "at": "2026-11-26T10:00:07+03:00", "extension": "101"},
        {**base, "event": "ended", "status": "answered", "duration": 60, "at": "2026-11-26T10:01:07+03:00"},
    ]


def _deliveries(calls):
    """Whole calls, every third event delivered twice (a PBX retrying)."""
    out = []
    for k in range(calls):
        for i, event in enumerate(_call(f"q-{k}", missed=k % 3 == 0)):
            out.append(event)
            if i % 3 == 0:
                out.append(dict(event))
    return out


def _store(events):
    """Deliveries accepted as the endpoint accepts them (validated, one received row each)."""
    import json

    for event in events:
        intake_accept(provider="generic", body=json.dumps(event), payload=event, meta={})


def _drains(status="READY"):
    return DBTaskResult.objects.filter(task_path=intake_drain.module_path, status=status)


def _make_due():
    """Time passes: every queued task may run now."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def _worker(*extra):
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", *extra)


@pytest.fixture
def db_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    intake_wake_reset()
    yield
    intake_wake_reset()


def _assert_every_call_once(calls):
    assert set(IntakeLog.objects.values_list("status", flat=True)) == {"processed"}
    rows = Interaction.objects.filter(provider="generic")
    assert rows.count() == calls == rows.values("external_id").distinct().count()
    for call in rows:
        missed = int(call.external_id.split("-")[1]) % 3 == 0
        assert call.status == ("missed" if missed else "answered"), call.external_id


@pytest.mark.django_db(transaction=True)
def test_a_burst_is_one_row_per_event_and_one_drain(db_backend, api_for, integration_user, manager):
    client = api_for(integration_user)
    deliveries = _deliveries(4)
    for event in deliveries:
        response = client.post(URL, event, format="json")
        assert response.status_code == 202, response.content
    # Nothing but the intake-log rows: no task row per event, one drain queued for a moment later.
    assert IntakeLog.objects.filter(status="received").count() == len(deliveries)
    assert DBTaskResult.objects.count() == 1
    drain = _drains().get()
    assert drain.run_after > drain.enqueued_at
    assert not Interaction.objects.exists()

    _make_due()
    _worker()
    _assert_every_call_once(4)
    assert _drains("SUCCESSFUL").get().return_value == len(deliveries)
    assert not DBTaskResult.objects.filter(status="READY").exists()


@pytest.mark.django_db(transaction=True)
def test_a_drain_that_became_due_is_not_counted_on(db_backend, integration_user, manager):
    _store(_call("w-1"))
    assert _drains().count() == 1
    intake_wake_reset()  # as if the queued drain's time had come: the next delivery queues another
    _store(_call("w-2")[:1])
    assert _drains().count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_drains_side_by_side_process_every_delivery_once(db_backend, manager):
    deliveries = _deliveries(12)
    _store(deliveries)
    start = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def drain():
        try:
            start.wait()
            done.append(intake_drain_now()[0])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # Each delivery was taken by exactly one drain: the two counts add up to the deliveries.
    assert len(done) == 2 and sum(done) == len(deliveries)
    _assert_every_call_once(12)
    assert intake_drain_now() == (0, True)


CLAIMER = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "otdel.settings"
django.setup()
from django.db import transaction
from otdel.comms.intake import intake_claim
transaction.atomic().__enter__()
log = intake_claim()
print(log.pk, flush=True)
sys.stdin.readline()  # holds the row until killed
"""


def _database_url():
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_holding_a_delivery_leaves_it_for_the_next_drain(db_backend, manager):
    deliveries = _call("k-1") + _call("k-2")
    _store(deliveries)
    oldest = IntakeLog.objects.order_by("id").first()
    env = {**os.environ, "DATABASE_URL": _database_url()}
    claimer = subprocess.Popen(
        [sys.executable, "-c", CLAIMER], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert int(claimer.stdout.readline()) == oldest.pk
        if connection.features.has_select_for_update_skip_locked:
            # PostgreSQL: another drain goes past the held row and does the rest.
            assert intake_drain_now() == (len(deliveries) - 1, True)
            assert IntakeLog.objects.get(pk=oldest.pk).status == "received"
        # (SQLite: the holder has the database's write lock; other writers wait for it.)
    finally:
        claimer.kill()  # dies mid-delivery: nothing it did is committed
        claimer.wait()
        claimer.stdout.close()
        claimer.stdin.close()
    assert IntakeLog.objects.get(pk=oldest.pk).status == "received"

    # Nobody is going to wake a drain for it: the scheduler's periodic sweep does.
    DBTaskResult.objects.all().delete()
    assert "comms.intake_drain" in run_due()
    _worker()
    _assert_every_call_once(2)
    swept = 1 if connection.features.has_select_for_update_skip_locked else len(deliveries)
    assert sum(r.return_value for r in _drains("SUCCESSFUL")) == swept


@pytest.mark.django_db(transaction=True)
def test_a_long_drain_makes_room_for_other_tasks_and_leaves_a_successor(db_backend, manager, monkeypatch):
    monkeypatch.setattr(tasks, "DRAIN_SLICE", 5)
    deliveries = _deliveries(6)  # 23 events
    _store(deliveries)
    _make_due()
    # Another task waits (of even lower priority than drains, so that the drain runs first here;
    # real ones, default priority, go before any drain).
    other = intake_process.using(priority=-20).enqueue(10**9)
    _worker("--max-tasks", "1")
    assert _drains("SUCCESSFUL").get().return_value == 5  # one slice, then it gave the worker back
    assert IntakeLog.objects.filter(status="processed").count() == 5
    assert _drains().count() == 1  # its successor waits
    assert DBTaskResult.objects.get(id=other.id).status == "READY"

    _worker()
    assert DBTaskResult.objects.get(id=other.id).status == "SUCCESSFUL"
    _assert_every_call_once(6)
    assert sum(r.return_value for r in _drains("SUCCESSFUL")) == len(deliveries)


@pytest.mark.django_db
def test_a_delivery_that_cannot_be_processed_is_failed_and_the_rest_goes_on(manager):
    broken = IntakeLog.objects.create(provider="generic", body="{not json")
    _store(_call("f-1"))  # the inline backend of the tests processes everything received
    broken.refresh_from_db()
    assert broken.status == "failed" and "JSONDecodeError" in broken.error
    assert set(IntakeLog.objects.exclude(pk=broken.pk).values_list("status", flat=True)) == {"processed"}
    assert Interaction.objects.get().status == "answered"


@pytest.mark.django_db
def test_tasks_queued_one_per_delivery_by_earlier_versions_still_run_once(manager, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    _store(_call("o-1")[:1])
    log = IntakeLog.objects.get()
    assert log.status == "received"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    intake_process.enqueue(log.pk)
    intake_process.enqueue(log.pk)
    log.refresh_from_db()
    assert log.status == "processed" and log.interaction == Interaction.objects.get()


@pytest.mark.django_db
def test_old_intake_rows_are_pruned_but_waiting_ones_never(monkeypatch):
    monkeypatch.setattr(tasks, "PRUNE_BATCH", 2)  # several batches
    now = timezone.now()
    ages = {"processed": [40, 40, 40, 10], "rejected": [100, 60], "failed": [100], "received": [400]}
    for status, days in ages.items():
        for age in days:
            log = IntakeLog.objects.create(provider="generic", status=status, body="{}")
            IntakeLog.objects.filter(pk=log.pk).update(created_at=now - datetime.timedelta(days=age))
    assert tasks.intake_log_prune.call() == 5
    left = sorted(IntakeLog.objects.values_list("status", flat=True))
    assert left == ["processed", "received", "rejected"]

"""A worker process killed in the middle of an import (SIGKILL, no clean-up of any kind): the
batch it was writing is lost whole, the resumed import neither repeats nor loses a row."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from otdel.crm.models import Contact, Identity
from otdel.transfer import services
from otdel.transfer.models import ImportJob, ImportRow
from otdel.transfer.tests import files

ROOT = Path(__file__).resolve().parents[3]

# The worker: runs the import with batches of 4 rows; when the second batch is written (inside
# its transaction, not committed) it says so and waits to be killed.
WORKER = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "otdel.settings"
django.setup()
from django.conf import settings
settings.MEDIA_ROOT = os.environ["TEST_MEDIA_ROOT"]
settings.OTDEL_IMPORT_BATCH = 4
settings.OTDEL_IMPORT_BATCH_SECONDS = 600
from otdel.transfer import engine, services
real = engine.apply_contact_rows
calls = []
def apply(*args, **kwargs):
    written = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == 2:
        print("written", flush=True)
        sys.stdin.readline()
    return written
engine.apply_contact_rows = apply
services.import_run(int(sys.argv[1]))
"""


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_process_loses_its_batch_whole_and_the_resumed_import_repeats_nothing(
    admin_user, settings
):
    # 11 people; the row after the first batch repeats row 2's person (phone in another format).
    people = [[f"Клиент {n}", f"+7 912 000-{n:02d}-00"] for n in range(11)]
    people.insert(5, ["Клиент 1 (дубль)", "8 (912) 000-01-00"])
    data = files.csv_bytes([["ФИО", "Телефон"], *people], encoding="utf-8", delimiter=",")
    job = services.import_create(actor=admin_user, upload=files.upload(data), kind="contacts", dry_run=False)
    ImportJob.objects.filter(pk=job.pk).update(status="queued")
    env = {**os.environ, "DATABASE_URL": _database_url(), "TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(job.pk)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == b"written"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        for pipe in (worker.stdout, worker.stdin):
            if pipe is not None:
                pipe.close()
    assert worker.returncode == -signal.SIGKILL
    job.refresh_from_db()
    assert job.status == "running" and job.done_rows == 4 and job.last_row == 5  # header is row 1
    assert Contact.objects.count() == 4  # the first batch; nothing of the second

    assert services.import_resume_stale(now=timezone.now()) == []  # its heartbeat is fresh
    settings.OTDEL_IMPORT_BATCH = 4
    assert services.import_resume_stale(now=timezone.now() + datetime.timedelta(minutes=5)) == [job.pk]
    job.refresh_from_db()
    assert job.status == "done" and job.done_rows == 12
    assert (job.created, job.skipped + job.merged + job.updated) == (11, 1)
    assert Contact.objects.count() == 11  # one per person: the repeated one is not a second
    assert Identity.objects.filter(kind="phone").count() == 11
    assert sorted(ImportRow.objects.filter(job=job).values_list("row", flat=True)) == list(range(2, 14))
    duplicate = ImportRow.objects.get(job=job, row=7)
    assert duplicate.outcome in ("skipped", "merged", "updated")

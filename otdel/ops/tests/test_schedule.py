"""The daily backup: when it is due, rotation (N daily, M weekly), destinations, the restore hook."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from otdel.core.scheduler import periodic_jobs
from otdel.crm.models import Contact
from otdel.ops import restore as restore_module
from otdel.ops.archive import ArchiveError, archive_name
from otdel.ops.models import Backup
from otdel.ops.storage import DirectoryDestination, Stored, configured_destination, rotate, rotation_keep
from otdel.ops.tasks import backup_daily, backup_due
from otdel.ops.tests.conftest import ROOT, manage

MSK = timezone.get_fixed_timezone(180)


def at(day: int, hour: int = 3, month: int = 11) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=MSK)


def test_rotation_keeps_the_newest_of_each_of_the_last_days_and_weeks():
    # Two backups a day for 30 days (November 2026).
    stored = [Stored(archive_name(at(day, hour)), at(day, hour)) for day in range(1, 31) for hour in (3, 15)]
    keep = rotation_keep(stored, daily=3, weekly=3)
    names = {s.name: s.made_at for s in stored}
    kept = sorted(timezone.localtime(names[n], MSK) for n in keep)
    assert kept == [
        # the week of 16-22 November: its newest (Sunday evening)
        at(22, 15),
        # the last three days, the newest of each; they also stand for their weeks (29th: the week
        # of 23-29 November; 30th, a Monday: the current week)
        at(28, 15),
        at(29, 15),
        at(30, 15),
    ]


def test_rotation_never_deletes_the_only_backup():
    only = [Stored(archive_name(at(1)), at(1))]
    assert rotation_keep(only, daily=0, weekly=0) == {only[0].name}


def test_rotate_deletes_from_the_directory(tmp_path):
    for day in (1, 2, 3):
        (tmp_path / archive_name(at(day))).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not an archive: left alone")
    deleted = rotate(DirectoryDestination(tmp_path), daily=2, weekly=0)
    assert deleted == [archive_name(at(1))]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [archive_name(at(2)), archive_name(at(3)), "notes.txt"]
    )


@pytest.mark.django_db
def test_the_daily_backup_is_due_once_after_its_hour(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    settings.OTDEL_BACKUP_HOUR = 3
    assert backup_due(at(2, 2)) is True  # yesterday's is missing
    Backup.objects.create(started_at=at(1, 3, 11) + datetime.timedelta(minutes=1), status=Backup.Status.OK)
    assert backup_due(at(2, 2)) is False  # yesterday's was made
    assert backup_due(at(2, 4)) is True  # today's hour has come
    Backup.objects.create(started_at=at(2, 4), status=Backup.Status.FAILED)
    assert backup_due(at(2, 5)) is True  # a failed one is tried again
    Backup.objects.create(started_at=at(2, 5), status=Backup.Status.OK)
    assert backup_due(at(2, 23)) is False
    settings.OTDEL_BACKUP_SCHEDULE = "off"
    assert backup_due(at(3, 4)) is False


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_job_backs_up_and_rotates(data_dir, settings, tmp_path):
    assert "ops.backup_daily" in {job.name for job in periodic_jobs()}
    settings.OTDEL_BACKUP_DIR = str(tmp_path / "backups")
    settings.OTDEL_BACKUP_KEEP_DAILY = 1
    settings.OTDEL_BACKUP_KEEP_WEEKLY = 0
    (tmp_path / "backups").mkdir()
    old = tmp_path / "backups" / archive_name(timezone.now() - datetime.timedelta(days=3))
    old.write_bytes(b"an old archive")
    location = backup_daily.call()
    backup = Backup.objects.get()
    assert backup.trigger == Backup.Trigger.SCHEDULED and backup.location == location
    assert backup.manifest["rotated_out"] == [old.name]
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [Path(location).name]
    assert backup_daily.call() == ""  # done for today


def test_s3_without_boto3_says_what_to_install(settings, monkeypatch):
    settings.OTDEL_BACKUP_S3_BUCKET = "otdel-backups"
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed
    with pytest.raises(ArchiveError, match="pip install boto3"):
        configured_destination()


RESTORE_WITH_HOOK = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "otdel.settings"
django.setup()
from django.core.management import call_command
from otdel.crm.models import Contact
from otdel.ops.restore import register_after_restore

def tombstones_apply(restored):
    # What the personal-data app does: destroy again what was destroyed after the backup.
    gone = Contact.objects.filter(full_name="destroyed later").delete()[1].get("crm.Contact", 0)
    restored.messages.append(f"tombstones applied: {gone}")

register_after_restore(tombstones_apply)
call_command("restore", sys.argv[1])
"""


@pytest.mark.django_db(transaction=True)
def test_after_restore_callbacks_run_on_the_restored_database(data_dir, tmp_path, restore_target):
    Contact.objects.create(full_name="kept")
    Contact.objects.create(full_name="destroyed later")
    call_command("backup", "--output", str(tmp_path / "out"))
    archive = Backup.objects.get().location
    done = subprocess.run(
        [sys.executable, "-c", RESTORE_WITH_HOOK, archive],
        cwd=ROOT,
        env=restore_target.env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "tombstones applied: 1" in done.stdout
    assert restore_target.rows("SELECT full_name FROM crm_contact") == [("kept",)]
    [(detail,)] = restore_target.rows("SELECT detail FROM ops_restorerecord")
    assert "tombstones applied: 1" in str(detail)
    assert restore_module.backups_interrupted_by_restore in restore_module.after_restore_callbacks()
    assert manage("migrate_plan", env=restore_target.env).returncode == 0

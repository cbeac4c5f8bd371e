"""Periodic operations jobs: the worker's heartbeat and the daily backup with rotation."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task

from otdel.core.scheduler import register_periodic
from otdel.ops.conf import int_setting, str_setting
from otdel.ops.models import Backup
from otdel.ops.services import backup_run, heartbeat_beat

HEARTBEAT_SECONDS = 60


@task(priority=50)
def worker_heartbeat() -> None:
    """Run by whichever worker takes it: proves a worker is taking tasks off the queue."""
    heartbeat_beat(name="worker")


def backup_due(now: datetime.datetime | None = None) -> bool:
    """Is today's scheduled backup due? After ``OTDEL_BACKUP_HOUR`` (local, default 3) and none done
    since then; ``OTDEL_BACKUP_SCHEDULE=off`` turns the daily backup off."""
    if str_setting("OTDEL_BACKUP_SCHEDULE", "on").lower() in {"0", "off", "false", "no"}:
        return False
    now = timezone.localtime(now or timezone.now())
    slot = now.replace(hour=int_setting("OTDEL_BACKUP_HOUR", 3) % 24, minute=0, second=0, microsecond=0)
    if now < slot:
        slot -= datetime.timedelta(days=1)
    return not Backup.objects.filter(started_at__gte=slot).exclude(status=Backup.Status.FAILED).exists()


@task()
def backup_daily() -> str:
    """Checked hourly; makes the day's backup once its hour has come, then applies rotation."""
    if not backup_due():
        return ""
    return backup_run(trigger=Backup.Trigger.SCHEDULED, rotate_after=True).location


register_periodic("ops.worker_heartbeat", HEARTBEAT_SECONDS, worker_heartbeat)
register_periodic("ops.backup_daily", 60 * 60, backup_daily)


@task()
def backup_now() -> str:
    """A backup asked for on the status page (to the configured destination, no rotation)."""
    return backup_run(trigger=Backup.Trigger.MANUAL).location

"""Operations writes: run a backup, beat a heartbeat, hold the scheduler's lease."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from otdel.ops.archive import make_archive
from otdel.ops.conf import backup_dir, int_setting
from otdel.ops.models import Backup, Heartbeat, SchedulerLease
from otdel.ops.storage import configured_destination, rotate

logger = logging.getLogger(__name__)

KEEP_DAILY = 7
KEEP_WEEKLY = 4


def backup_run(
    *, output: Path | None = None, trigger: str = Backup.Trigger.MANUAL, rotate_after: bool = False
) -> Backup:
    """Make one archive and store it (``output`` dir, else S3 or ``OTDEL_BACKUP_DIR``); the run is
    recorded as a Backup row either way. Raises the error after recording a failed run."""
    record = Backup.objects.create(started_at=timezone.now(), trigger=trigger)
    try:
        destination = configured_destination(output)
        staging = output if output is not None else backup_dir()
        made = make_archive(staging)
        location = destination.put(made.path)
        deleted: list[str] = []
        if rotate_after:
            deleted = rotate(
                destination,
                daily=int_setting("OTDEL_BACKUP_KEEP_DAILY", KEEP_DAILY),
                weekly=int_setting("OTDEL_BACKUP_KEEP_WEEKLY", KEEP_WEEKLY),
            )
    except Exception as exc:
        Backup.objects.filter(pk=record.pk).update(
            status=Backup.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:5000]
        )
        logger.exception("backup failed")
        raise
    Backup.objects.filter(pk=record.pk).update(
        status=Backup.Status.OK,
        finished_at=timezone.now(),
        location=location,
        size=made.size,
        sha256=made.sha256,
        manifest={**made.manifest, "rotated_out": deleted},
    )
    record.refresh_from_db()
    logger.info("backup written to %s (%s bytes)", location, made.size)
    return record


def heartbeat_beat(*, name: str) -> None:
    Heartbeat.objects.update_or_create(
        name=name,
        defaults={"beat_at": timezone.now(), "detail": {"host": socket.gethostname(), "pid": os.getpid()}},
    )


SCHEDULER_LEASE = "scheduler"


class SchedulerLock:
    """A lease in the database so that, of all running schedulers, exactly one fires jobs.

    ``hold()`` takes the lease when it is free or expired, renews it when held (every
    ``renew_every`` seconds, not on every tick), and says whether this scheduler may fire now.
    A holder that dies is replaced once its lease expires (``OTDEL_SCHEDULER_LEASE_SECONDS``).
    """

    def __init__(self, *, seconds: int | None = None, holder: str | None = None) -> None:
        self.seconds = seconds or int_setting("OTDEL_SCHEDULER_LEASE_SECONDS", 30)
        self.renew_every = max(1.0, self.seconds / 3)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.valid_until: datetime | None = None
        self.renewed_at: datetime | None = None

    def hold(self) -> bool:
        now = timezone.now()
        fresh = self.renewed_at is not None and now - self.renewed_at < timedelta(seconds=self.renew_every)
        if fresh and self.valid_until is not None and now < self.valid_until:
            return True
        return self._claim(now)

    @transaction.atomic
    def _claim(self, now: datetime) -> bool:
        SchedulerLease.objects.get_or_create(
            name=SCHEDULER_LEASE, defaults={"expires_at": now - timedelta(seconds=1)}
        )
        until = now + timedelta(seconds=self.seconds)
        lease = SchedulerLease.objects.filter(name=SCHEDULER_LEASE)
        renewed = lease.filter(holder=self.holder).update(renewed_at=now, expires_at=until)
        if not renewed:
            renewed = lease.filter(expires_at__lte=now).update(
                holder=self.holder, acquired_at=now, renewed_at=now, expires_at=until
            )
            if renewed:
                logger.info("scheduler %s took the lease", self.holder)
        if renewed:
            self.valid_until, self.renewed_at = until, now
            return True
        self.valid_until = self.renewed_at = None
        return False

    def release(self) -> None:
        """On a clean stop: let another scheduler take over at once instead of after expiry."""
        SchedulerLease.objects.filter(name=SCHEDULER_LEASE, holder=self.holder).update(
            expires_at=timezone.now()
        )
        self.valid_until = self.renewed_at = None

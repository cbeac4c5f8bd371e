"""Operations reads for the status page (administrators only: the page checks the role)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from otdel.ops.models import Backup, RestoreRecord, SchedulerLease
from otdel.ops.services import SCHEDULER_LEASE


def backup_last_ok() -> Backup | None:
    return Backup.objects.filter(status=Backup.Status.OK).order_by("-finished_at", "-id").first()


def backup_recent(limit: int = 10) -> QuerySet[Backup]:
    return Backup.objects.all()[:limit]


def restore_recent(limit: int = 5) -> QuerySet[RestoreRecord]:
    return RestoreRecord.objects.all()[:limit]


def scheduler_lease() -> SchedulerLease | None:
    return SchedulerLease.objects.filter(name=SCHEDULER_LEASE).first()


def telephony_links() -> list[dict[str, Any]]:
    """Active PBX connections with their last event and last error, for the status page."""
    from otdel.comms.models import TelephonyProvider

    links = TelephonyProvider.objects.filter(is_active=True).order_by("name")
    return [dict(row) for row in links.values("pk", "name", "kind", "last_event_at", "last_error")]

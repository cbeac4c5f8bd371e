"""Health checks for /healthz and the status page: each says ok or not, with numbers, never secrets."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min
from django.utils import timezone

from otdel.ops.conf import int_setting
from otdel.ops.models import Heartbeat, SchedulerLease


@dataclass
class Check:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.detail}


def _age(moment: datetime.datetime | None, now: datetime.datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def check_database(now: datetime.datetime) -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Check(True, {"vendor": connection.vendor})


_migrations_seen_applied = False


def check_migrations(now: datetime.datetime) -> Check:
    global _migrations_seen_applied
    if _migrations_seen_applied:
        # The code only changes on a restart, so once applied they stay applied (and the loader
        # costs ~0.1 s: not on every probe).
        return Check(True, {"pending": 0})
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    _migrations_seen_applied = not plan
    return Check(not plan, {"pending": len(plan)})


def _tasks_on_database() -> bool:
    from otdel.core.scheduler import on_database_backend
    from otdel.ops.tasks import worker_heartbeat

    return on_database_backend(worker_heartbeat)


def check_worker(now: datetime.datetime) -> Check:
    if not _tasks_on_database():
        return Check(True, {"note": "tasks run in-process; no worker needed"})
    from django_tasks_db.models import DBTaskResult

    beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    limit = int_setting("OTDEL_HEALTH_WORKER_MAX_AGE", 300)
    age = _age(beat, now)
    queue = DBTaskResult.objects.ready().aggregate(depth=Count("id"), oldest=Min("enqueued_at"))
    return Check(
        age is not None and age <= limit,
        {
            "heartbeat_age_seconds": age,
            "max_age_seconds": limit,
            "task_queue_depth": queue["depth"],
            "task_queue_oldest_age_seconds": _age(queue["oldest"], now),
        },
    )


def check_scheduler(now: datetime.datetime) -> Check:
    from otdel.ops.services import SCHEDULER_LEASE

    renewed = SchedulerLease.objects.filter(name=SCHEDULER_LEASE).values_list("renewed_at", flat=True).first()
    limit = int_setting("OTDEL_HEALTH_SCHEDULER_MAX_AGE", 120)
    age = _age(renewed, now)
    return Check(age is not None and age <= limit, {"heartbeat_age_seconds": age, "max_age_seconds": limit})


def check_intake(now: datetime.datetime) -> Check:
    from otdel.comms.models import IntakeLog

    waiting = IntakeLog.objects.filter(status=IntakeLog.Status.RECEIVED).aggregate(
        depth=Count("id"), oldest=Min("created_at")
    )
    limit = int_setting("OTDEL_HEALTH_INTAKE_MAX_AGE", 600)
    age = _age(waiting["oldest"], now)
    return Check(
        age is None or age <= limit,
        {"queue_depth": waiting["depth"], "oldest_age_seconds": age, "max_age_seconds": limit},
    )


def check_disk(now: datetime.datetime) -> Check:
    usage = shutil.disk_usage(Path(settings.DATA_DIR))
    free_mb = usage.free // (1024 * 1024)
    minimum = int_setting("OTDEL_HEALTH_MIN_FREE_MB", 1024)
    return Check(
        free_mb >= minimum,
        {
            "free_mb": free_mb,
            "min_free_mb": minimum,
            "used_percent": round(100 * usage.used / usage.total, 1),
        },
    )


CHECKS: dict[str, Callable[[datetime.datetime], Check]] = {
    "database": check_database,
    "migrations": check_migrations,
    "worker": check_worker,
    "scheduler": check_scheduler,
    "intake": check_intake,
    "disk": check_disk,
}


def health_report() -> dict[str, Any]:
    """``{"status": "ok" | "fail", "checks": {name: {"ok": ..., numbers}}, "failing": [names]}``."""
    now = timezone.now()
    checks: dict[str, dict[str, Any]] = {}
    for name, run in CHECKS.items():
        try:
            checks[name] = run(now).as_dict()
        except Exception as exc:
            # The class only: a driver's message may carry a host or user name.
            checks[name] = {"ok": False, "error": type(exc).__name__}
    failing = [name for name, check in checks.items() if not check["ok"]]
    return {"status": "fail" if failing else "ok", "checks": checks, "failing": failing}

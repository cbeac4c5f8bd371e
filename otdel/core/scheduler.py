"""Periodic jobs: each app registers ``register_periodic(name, seconds, task)``; ``manage.py scheduler``
enqueues every due job's task (a django_tasks Task) for the background worker, exactly once per period."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from otdel.core.models import ScheduledJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    seconds: int
    task: Any  # a django_tasks Task taking no arguments


_registry: dict[str, Periodic] = {}


def on_database_backend(task: Any) -> bool:
    """Does ``task`` run on the database backend (django_tasks_db), whose queue can be looked into?"""
    return type(task.get_backend()).__module__.split(".")[0] == "django_tasks_db"


def register_periodic(name: str, seconds: int, task: Any) -> None:
    _registry[name] = Periodic(name, seconds, task)


def periodic_jobs() -> list[Periodic]:
    return list(_registry.values())


def run_due(now: datetime.datetime | None = None) -> list[str]:
    """Enqueue every job whose time has come; returns the names enqueued by this call."""
    now = now or timezone.now()
    enqueued = []
    for job in periodic_jobs():
        ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + datetime.timedelta(seconds=job.seconds), last_enqueued_at=now
        )
        if claimed:
            try:
                job.task.enqueue()
                enqueued.append(job.name)
            except Exception:
                logger.exception("could not enqueue periodic job %s", job.name)
    return enqueued

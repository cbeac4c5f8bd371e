"""Background jobs of the e-mail channel: poll every mailbox periodically, or one mailbox right now."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.utils import timezone
from django_tasks import TaskContext, task

from otdel.comms.email import sync
from otdel.comms.models import Mailbox
from otdel.core.conf import int_setting
from otdel.core.scheduler import on_database_backend

logger = logging.getLogger(__name__)


@task(takes_context=True)
def mail_sync_all(context: TaskContext, reschedule: bool = False) -> list[dict[str, Any]]:
    """Poll every active mailbox once; with ``reschedule`` the next run is queued OTDEL_MAIL_POLL_SECONDS later."""
    try:
        return [result.as_dict() for result in sync.mail_sync_all()]
    finally:
        # Even after a failure, so one bad poll does not end the periodic chain.
        if reschedule:
            mail_sync_schedule(exclude=str(context.task_result.id))


@task()
def mailbox_sync_now(mailbox_id: int) -> dict[str, Any] | None:
    """Poll one mailbox now (the admin's "sync now")."""
    mailbox = Mailbox.objects.select_related("queue").filter(pk=mailbox_id).first()
    if mailbox is None:
        return None
    return sync.mailbox_sync(mailbox=mailbox).as_dict()


def _pending(exclude: str | None) -> bool:
    """Is a periodic poll already waiting? (Known for the database backend; other backends: assume not.)"""
    if not on_database_backend(mail_sync_all):
        return False
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=mail_sync_all.module_path, status="READY")
    if exclude:
        waiting = waiting.exclude(id=exclude)
    return waiting.exists()


def mail_sync_schedule(*, delay: float | None = None, exclude: str | None = None) -> bool:
    """Make sure one periodic poll is queued (call at start-up of the worker or ``serve``; safe to repeat).

    Returns False when the task backend cannot run tasks later (then use ``sync_mail --loop``).
    """
    if not mail_sync_all.get_backend().supports_defer:
        return False
    if _pending(exclude):
        return True
    seconds = int_setting("OTDEL_MAIL_POLL_SECONDS", 60) if delay is None else delay
    run_after = timezone.now() + datetime.timedelta(seconds=max(0.0, seconds))
    mail_sync_all.using(run_after=run_after).enqueue(reschedule=True)
    return True

"""Reactions of comms to other apps' domain events."""

from __future__ import annotations

from django.utils import timezone

from otdel.accounts.models import User
from otdel.comms.models import Interaction
from otdel.core.events import TaskCompleted, subscribe
from otdel.crm.models import Task


@subscribe(TaskCompleted)
def missed_call_called_back(event: TaskCompleted) -> None:
    task_id, actor_id = event.task_id, event.actor_id
    """Done with the call-back task of a missed call = the call is handled; it leaves the Inbox."""
    task = Task.objects.filter(pk=task_id).only("interaction_id", "assignee_id", "done_at").first()
    if task is None or task.interaction_id is None:
        return
    handler = User.objects.filter(pk=actor_id).first() if actor_id else None
    Interaction.objects.filter(pk=task.interaction_id, handled_at__isnull=True).update(
        handled_by=handler or task.assignee,
        handled_at=task.done_at or timezone.now(),
        updated_at=timezone.now(),
    )

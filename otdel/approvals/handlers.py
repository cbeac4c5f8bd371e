"""Subscribers of approvals: SLA clocks of steps and requests (reminder, escalation), approvers who leave."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from otdel.accounts.models import User
from otdel.approvals import services
from otdel.automation.models import SlaTimer
from otdel.core.events import SlaBreached, SlaWarned, subscribe


def _subject(timer_id: int) -> tuple[str, int] | None:
    key = SlaTimer.objects.filter(pk=timer_id).values_list("key", flat=True).first() or ""
    prefix, _sep, pk = key.rpartition(":")
    if prefix + ":{}" in (services.STAGE_TIMER, services.REQUEST_TIMER) and pk.isdigit():
        return prefix, int(pk)
    return None


@subscribe(SlaWarned)
def approval_remind(event: SlaWarned) -> None:
    subject = _subject(event.timer_id)
    if subject is not None and subject[0] + ":{}" == services.STAGE_TIMER:
        services.stage_remind(stage_id=subject[1])


@subscribe(SlaBreached)
def approval_escalate(event: SlaBreached) -> None:
    subject = _subject(event.timer_id)
    if subject is None:
        return
    if subject[0] + ":{}" == services.STAGE_TIMER:
        services.stage_escalate(stage_id=subject[1])
    else:
        services.request_overdue(request_id=subject[1])


@receiver(post_save, sender=User)
def approver_deactivated(sender: Any, instance: User, **kwargs: Any) -> None:
    if not instance.is_active and instance.pk:
        services.approver_left(user=instance)


@receiver(pre_delete, sender=User)
def approver_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    instance.is_active = False
    services.approver_left(user=instance)

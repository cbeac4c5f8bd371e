"""Notifications follow the domain events, after commit: the person the work went to is told.

Who that is comes from routing (an inbound interaction's ``routed_to``, a lead's responsible, a
call-back task's assignee), so a non-target person's traffic notifies the office manager and never
a salesperson.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from otdel.automation.models import Notification
from otdel.automation.services import notify
from otdel.comms.models import Direction, Interaction, InteractionKind
from otdel.core.events import (
    CallMissed,
    DealCreated,
    DealReassigned,
    InteractionReceived,
    LeadCreated,
    TaskCreated,
    subscribe,
)
from otdel.crm.models import Channel, Deal, Lead, Task


def _card(contact_id: int | None) -> str:
    return reverse("contact_detail", args=[contact_id]) if contact_id else ""


def _language(user: Any) -> str | None:
    """Titles are written in the recipient's language (they are stored, not translated on display)."""
    return getattr(user, "language", None) or None


@subscribe(LeadCreated)
def notify_lead(event: LeadCreated) -> None:
    lead_id, actor_id = event.lead_id, event.actor_id
    lead = Lead.objects.select_related("contact", "responsible").filter(pk=lead_id).first()
    if lead is None or lead.responsible is None or lead.responsible_id == actor_id or lead.verdict:
        return  # (a lead triaged before this ran needs no "new lead": a deal or nothing follows)
    with override(_language(lead.responsible)):
        title = _("New lead: %(who)s (%(channel)s)") % {
            "who": lead.contact.full_name,
            "channel": lead.get_channel_display(),
        }
    notify(
        user=lead.responsible,
        kind=Notification.Kind.LEAD,
        key=f"lead:{lead.pk}",
        title=title,
        url=reverse("lead_detail", args=[lead.pk]),
        contact=lead.contact,
    )


@subscribe(DealCreated)
def notify_deal(event: DealCreated) -> None:
    """A deal someone else opened for you (a qualified lead from triage, the head of sales)."""
    _notify_deal_owner(event.deal_id, event.actor_id, gettext_noop("New deal: %(title)s"), key="deal:{pk}")


@subscribe(DealReassigned)
def notify_deal_reassigned(event: DealReassigned) -> None:
    """A deal someone else handed over to you (each handover once: the key holds the version)."""
    _notify_deal_owner(
        event.deal_id,
        event.actor_id,
        gettext_noop("Deal handed to you: %(title)s"),
        key="deal:{pk}:v{version}",
    )


def _notify_deal_owner(deal_id: int, actor_id: int | None, template: str, *, key: str) -> None:
    """``template``: a msgid, translated here into the owner's language."""
    deal = Deal.objects.select_related("contact", "responsible").filter(pk=deal_id).first()
    if deal is None or deal.responsible is None or deal.responsible_id == actor_id:
        return
    with override(_language(deal.responsible)):
        title = _(template) % {"title": deal.title}
        if deal.contact is not None:
            title = f"{title} ({deal.contact.full_name})"
    notify(
        user=deal.responsible,
        kind=Notification.Kind.DEAL,
        key=key.format(pk=deal.pk, version=deal.version),
        title=title,
        url=reverse("deal_detail", args=[deal.pk]),
        contact=deal.contact,
    )


# Calls notify when missed (below); ringing calls reach people through the PBX.
_NOTIFIED_KINDS = (InteractionKind.EMAIL, InteractionKind.MESSAGE, InteractionKind.FORM)


@subscribe(InteractionReceived)
def notify_inbound(event: InteractionReceived) -> None:
    interaction_id = event.interaction_id
    interaction = (
        Interaction.objects.select_related("contact", "routed_to", "lead").filter(pk=interaction_id).first()
    )
    if (
        interaction is None
        or interaction.direction != Direction.IN
        or interaction.kind not in _NOTIFIED_KINDS
        or interaction.routed_to is None
    ):
        return
    lead = interaction.lead
    if lead is not None and lead.responsible_id == interaction.routed_to_id:
        first = Interaction.objects.filter(lead=lead).order_by("id").values_list("id", flat=True).first()
        if first == interaction.pk:
            return  # it made the lead: "New lead" says it already
    who = interaction.contact.full_name if interaction.contact else interaction.caller
    with override(_language(interaction.routed_to)):
        channel = Channel(interaction.channel).label if interaction.channel in Channel.values else ""
        title = _("%(channel)s from %(who)s") % {"channel": channel or interaction.channel, "who": who}
        if interaction.subject:
            title = f"{title}: {interaction.subject}"
    notify(
        user=interaction.routed_to,
        kind=Notification.Kind.INBOUND,
        key=f"interaction:{interaction.pk}",
        title=title,
        url=_card(interaction.contact_id),
        contact=interaction.contact,
    )


@subscribe(CallMissed)
def notify_missed_call(event: CallMissed) -> None:
    interaction_id = event.interaction_id
    task = (
        Task.objects.select_related("assignee", "contact")
        .filter(interaction_id=interaction_id, kind=Task.Kind.CALL_BACK, done_at__isnull=True)
        .first()
    )
    if task is not None and task.assignee is not None:
        _notify_assignee(task, Notification.Kind.MISSED_CALL)


@subscribe(TaskCreated)
def notify_task(event: TaskCreated) -> None:
    task_id, actor_id = event.task_id, event.actor_id
    task = Task.objects.select_related("assignee", "contact").filter(pk=task_id).first()
    if task is None or task.assignee is None or task.assignee_id == actor_id:
        return
    if task.interaction_id is not None and task.kind == Task.Kind.CALL_BACK:
        return  # a missed call's call-back: "missed call" tells the assignee (notify_missed_call)
    _notify_assignee(task, Notification.Kind.TASK)


def _notify_assignee(task: Task, kind: str) -> None:
    """A call-back task reads as itself with its due time; any other task as "New task: ..."."""
    with override(_language(task.assignee)):
        if kind == Notification.Kind.MISSED_CALL:
            title = task.title
            if task.due_at:
                due = formats.date_format(timezone.localtime(task.due_at), "SHORT_DATETIME_FORMAT")
                title = _("%(task)s, by %(due)s") % {"task": task.title, "due": due}
        else:
            title = _("New task: %(title)s") % {"title": task.title}
    notify(
        user=task.assignee,
        kind=kind,
        key=f"task:{task.pk}",
        title=title,
        url=_card(task.contact_id),
        contact=task.contact,
    )

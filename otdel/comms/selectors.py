"""Reads of the timeline and the inbox, always through the permission scope."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from otdel.comms.models import Direction, Interaction, InteractionKind
from otdel.core.scoping import scope
from otdel.crm.models import Contact, Deal, Note, Task


@dataclass(frozen=True)
class TimelineItem:
    type: str  # "interaction" | "note" | "task"
    id: int
    channel: str
    direction: str
    at: datetime.datetime
    status: str
    routed_to: int | None
    summary: str
    obj: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "channel": self.channel,
            "direction": self.direction,
            "at": self.at,
            "status": self.status,
            "routed_to": self.routed_to,
            "summary": self.summary,
        }


def _duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes}:{sec:02d}"


def interaction_summary(interaction: Interaction) -> str:
    if interaction.kind == InteractionKind.CALL:
        label = _("Incoming call") if interaction.direction == Direction.IN else _("Outgoing call")
        parts = [label]
        if interaction.status:
            parts.append(interaction.get_status_display())
        if interaction.duration:
            parts.append(_duration(interaction.duration))
        return ", ".join(str(p) for p in parts)
    if interaction.kind == InteractionKind.EMAIL:
        return interaction.subject or interaction.summary or _("(no subject)")
    return interaction.summary or (interaction.body or "")[:200]


def _interactions(
    user: Any, *, contact: Contact | None = None, deal: Deal | None = None
) -> QuerySet[Interaction]:
    qs = Interaction.objects.select_related("routed_to", "user").prefetch_related("attachments")
    if contact is not None:
        qs = qs.filter(Q(contact=contact) | Q(contact__merged_into=contact))
    if deal is not None:
        qs = qs.filter(deal=deal)
    return qs


def timeline(
    *,
    user: Any,
    contact: Contact | None = None,
    deal: Deal | None = None,
    channels: list[str] | None = None,
    limit: int = 200,
) -> list[TimelineItem]:
    """Calls, e-mails, messages, forms, notes and tasks of a contact or deal, newest first.

    The caller must have fetched ``contact``/``deal`` through ``scope``; an object out of the user's
    reach gives an empty timeline.
    """
    subject = contact if contact is not None else deal
    if subject is None or not scope(type(subject).objects.filter(pk=subject.pk), user).exists():
        return []
    items: list[TimelineItem] = []
    want = set(channels or [])
    interactions = _interactions(user, contact=contact, deal=deal)
    if want:
        interactions = interactions.filter(channel__in=want)
    for row in interactions.order_by("-occurred_at", "-id")[:limit]:
        items.append(
            TimelineItem(
                "interaction",
                row.pk,
                row.channel,
                row.direction,
                row.occurred_at,
                row.status,
                row.routed_to_id,
                interaction_summary(row),
                row,
            )
        )
    if not want or "note" in want:
        notes = Note.objects.select_related("author")
        notes = notes.filter(contact=contact) if contact is not None else notes.filter(deal=deal)
        for note in notes.order_by("-created_at")[:limit]:
            items.append(
                TimelineItem("note", note.pk, "note", "out", note.created_at, "", None, note.body[:200], note)
            )
    if not want or "task" in want:
        tasks = Task.objects.select_related("assignee")
        tasks = tasks.filter(contact=contact) if contact is not None else tasks.filter(deal=deal)
        for task in tasks.order_by("-created_at")[:limit]:
            status = "done" if task.done_at else "open"
            items.append(
                TimelineItem(
                    "task",
                    task.pk,
                    "task",
                    "out",
                    task.created_at,
                    status,
                    task.assignee_id,
                    task.title,
                    task,
                )
            )
    items.sort(key=lambda item: (item.at, item.id), reverse=True)
    return items[:limit]


def inbox(*, user: Any) -> QuerySet[Interaction]:
    """Inbound interactions routed to this user that nobody has answered yet."""
    return (
        Interaction.objects.filter(routed_to=user, direction=Direction.IN, handled_at__isnull=True)
        .exclude(kind=InteractionKind.CALL, status="answered")
        .select_related("contact", "deal", "lead")
        .order_by("-occurred_at", "-id")
    )

"""Reads of the timeline and the inbox, always through the permission scope."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.comms.models import Direction, IntakeLog, Interaction, InteractionKind
from otdel.core.scoping import scope
from otdel.crm.models import Contact, Deal, Lead, Note, Task


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


# Items at the same moment are ordered by type, then id (ids of different tables may be equal).
TIMELINE_TYPES = ("lead", "task", "note", "interaction", "approval")
TIMELINE_PAGE = 50


@dataclass(frozen=True)
class TimelineCursor:
    """Where a timeline page ended: the next page holds what sorts after it (older items)."""

    at: datetime.datetime
    type: str
    id: int

    @classmethod
    def after(cls, item: Any) -> TimelineCursor:
        """The cursor past a TimelineItem or an API row (a dict with type, id and at)."""
        if isinstance(item, dict):
            return cls(item["at"], item["type"], item["id"])
        return cls(item.at, item.type, item.id)

    def encode(self) -> str:
        return f"{self.at.isoformat()}_{self.type}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> TimelineCursor:
        """Raises ValueError for anything ``encode`` did not make."""
        at, kind, pk = raw.rsplit("_", 2)
        moment = datetime.datetime.fromisoformat(at)
        if kind not in TIMELINE_TYPES or moment.tzinfo is None:
            raise ValueError(raw)
        return cls(moment, kind, int(pk))

    def older(self, kind: str, at_field: str) -> Q:
        """The rows of ``kind`` (its time in ``at_field``) that come after this cursor."""
        rank, mine = TIMELINE_TYPES.index(kind), TIMELINE_TYPES.index(self.type)
        if rank < mine:
            return Q(**{f"{at_field}__lte": self.at})
        if rank > mine:
            return Q(**{f"{at_field}__lt": self.at})
        return Q(**{f"{at_field}__lt": self.at}) | Q(**{at_field: self.at, "pk__lt": self.id})


def timeline_sort_key(item: Any) -> tuple[datetime.datetime, int, int]:
    """Newest first when sorted in reverse; TimelineItems and API rows (dicts) alike."""
    if isinstance(item, dict):
        return item["at"], TIMELINE_TYPES.index(item["type"]), item["id"]
    return item.at, TIMELINE_TYPES.index(item.type), item.id


def timeline(
    *,
    user: Any,
    contact: Contact | None = None,
    deal: Deal | None = None,
    channels: list[str] | None = None,
    before: TimelineCursor | None = None,
    limit: int = TIMELINE_PAGE,
    with_leads: bool = False,
) -> list[TimelineItem]:
    """Calls, e-mails, messages, forms, notes and tasks of a contact or deal, newest first: the one
    timeline builder, behind the card and ``GET /api/v1/contacts/{id}/timeline``.

    At most ``limit`` items, those after ``before`` (the cursor past the last item of the previous
    page). The caller must have fetched ``contact``/``deal`` through ``scope``; an object out of
    the user's reach gives an empty timeline. ``with_leads`` adds a contact's leads that no
    interaction stands for (say, one typed in by hand), so an inbound call that made a lead shows
    once.
    """
    subject = contact if contact is not None else deal
    if subject is None or not scope(type(subject).objects.filter(pk=subject.pk), user).exists():
        return []
    items: list[TimelineItem] = []
    want = set(channels or [])
    interactions = _interactions(user, contact=contact, deal=deal)
    if want:
        interactions = interactions.filter(channel__in=want)
    if before is not None:
        interactions = interactions.filter(before.older("interaction", "occurred_at"))
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
        if before is not None:
            notes = notes.filter(before.older("note", "created_at"))
        for note in notes.order_by("-created_at", "-id")[:limit]:
            items.append(
                TimelineItem("note", note.pk, "note", "out", note.created_at, "", None, note.body[:200], note)
            )
    if not want or "task" in want:
        tasks = Task.objects.select_related("assignee")
        tasks = tasks.filter(contact=contact) if contact is not None else tasks.filter(deal=deal)
        if before is not None:
            tasks = tasks.filter(before.older("task", "created_at"))
        for task in tasks.order_by("-created_at", "-id")[:limit]:
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
    if deal is not None and (not want or "approval" in want):
        from otdel.approvals.models import ApprovalEvent

        events = ApprovalEvent.objects.filter(deal=deal).select_related("actor")
        if before is not None:
            events = events.filter(before.older("approval", "at"))
        for event in events.order_by("-at", "-id")[:limit]:
            items.append(
                TimelineItem(
                    "approval",
                    event.pk,
                    "approval",
                    "out",
                    event.at,
                    event.kind,
                    None,
                    event.text[:200],
                    event,
                )
            )
    if with_leads and contact is not None and not want:
        leads = scope(Lead.objects.filter(contact=contact), user).filter(
            ~Exists(Interaction.objects.filter(lead=OuterRef("pk")))
        )
        if before is not None:
            leads = leads.filter(before.older("lead", "created_at"))
        for lead in leads.order_by("-created_at", "-id")[:limit]:
            summary = lead.comment[:200] or _("Lead: %(source)s") % {"source": lead.get_source_display()}
            items.append(
                TimelineItem(
                    "lead",
                    lead.pk,
                    lead.channel,
                    "in",
                    lead.created_at,
                    lead.status,
                    lead.responsible_id,
                    summary,
                    lead,
                )
            )
    items.sort(key=timeline_sort_key, reverse=True)
    return items[:limit]


def timeline_page(
    *, limit: int = TIMELINE_PAGE, **kwargs: Any
) -> tuple[list[TimelineItem], TimelineCursor | None]:
    """One page of ``timeline`` (same arguments) and the cursor of the next, None on the last page."""
    items = timeline(limit=limit + 1, **kwargs)
    if len(items) > limit:
        return items[:limit], TimelineCursor.after(items[limit - 1])
    return items, None


# An Inbox item unanswered for longer than this is late (``OTDEL_INBOX_LATE_MINUTES``).
INBOX_LATE_MINUTES = 60


def inbox(*, user: Any) -> QuerySet[Interaction]:
    """Inbound interactions routed to this user that nobody has answered yet."""
    return inbox_for(users=[user])


def inbox_for(*, users: Any) -> QuerySet[Interaction]:
    """Inbound interactions routed to any of ``users`` (a queryset or a list) that nobody has answered yet."""
    return (
        Interaction.objects.filter(routed_to__in=users, direction=Direction.IN, handled_at__isnull=True)
        .exclude(kind=InteractionKind.CALL, status="answered")
        .select_related("contact", "deal", "lead", "routed_to")
        .order_by("-occurred_at", "-id")
    )


# Received deliveries older than this mean the background worker is not processing them.
INTAKE_STALLED_AFTER = datetime.timedelta(minutes=5)


def intake_waiting(*, user: Any) -> dict[str, Any]:
    """Deliveries not processed yet: how many, since when, and whether that means no worker runs."""
    waiting = scope(IntakeLog.objects.filter(status=IntakeLog.Status.RECEIVED), user).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    oldest = waiting["oldest"]
    waiting["stalled"] = bool(oldest and timezone.now() - oldest > INTAKE_STALLED_AFTER)
    return waiting

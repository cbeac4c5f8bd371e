"""Reads of automation: notifications (each user sees only their own), "My day", the SLA board."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from otdel.automation.models import Notification, SlaTimer
from otdel.routing.nontarget import about_non_target


def notification_list(*, user: Any) -> QuerySet[Notification]:
    """The user's notifications, newest first.

    Non-target traffic never reaches a salesperson: those about a contact marked non-target (or
    merged into one) since are left out for everyone but the office manager, call center and
    administrators, and come back if the contact is restored as target.
    """
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(user=user)
    if not (user.is_admin or user.is_triage):
        qs = qs.exclude(about_non_target())
    return qs


def notification_unread_count(*, user: Any) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).count()


# --- "My day", the team's day, the SLA board ------------------------------------------------------


def _day_bounds(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


def my_day(*, user: Any, now: datetime.datetime | None = None) -> dict[str, Any]:
    """A salesperson's day: regulations to read, overdue tasks, tasks due today, call-backs, leads
    waiting for a first response (with their SLA clocks)."""
    from otdel.crm.models import Lead, Task

    now = now or timezone.now()
    _start, end = _day_bounds(now)
    open_tasks = Task.objects.filter(assignee=user, done_at__isnull=True).select_related(
        "contact", "deal", "lead"
    )
    call_backs = open_tasks.filter(kind=Task.Kind.CALL_BACK).order_by(F("due_at").asc(nulls_last=True), "id")
    others = open_tasks.exclude(kind=Task.Kind.CALL_BACK)
    waiting = list(
        Lead.objects.filter(responsible=user, status=Lead.Status.NEW, verdict="")
        .select_related("contact")
        .order_by("created_at", "id")[:100]
    )
    clocks = _clocks_by_lead([lead.pk for lead in waiting])
    for lead in waiting:
        lead.sla_clocks = clocks.get(lead.pk, [])  # type: ignore[attr-defined]
    from otdel.kb.selectors import pending_for_user

    return {
        # Regulations asking this user to confirm reading their current version.
        "regulations": pending_for_user(user=user),
        "overdue": list(others.filter(due_at__lt=now).order_by("due_at", "id")[:200]),
        "today": list(others.filter(due_at__gte=now, due_at__lt=end).order_by("due_at", "id")[:200]),
        "call_backs": list(call_backs[:200]),
        "waiting": waiting,
        "now": now,
    }


def _clocks_by_lead(lead_ids: list[int]) -> dict[int, list[SlaTimer]]:
    result: dict[int, list[SlaTimer]] = {}
    for timer in SlaTimer.objects.filter(lead_id__in=lead_ids).select_related("policy").order_by("due_at"):
        result.setdefault(timer.lead_id or 0, []).append(timer)
    return result


def team_day(*, now: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """The department by person: open, overdue and due-today tasks, leads waiting, SLA clocks at risk."""
    from otdel.accounts.models import SALES_ROLES, User
    from otdel.crm.models import Lead, Task

    now = now or timezone.now()
    _start, end = _day_bounds(now)
    people = list(User.objects.filter(is_active=True, role__in=SALES_ROLES).order_by("full_name", "username"))
    tasks = (
        Task.objects.filter(assignee__in=people, done_at__isnull=True)
        .values("assignee")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(due_at__lt=now)),
            today=Count("id", filter=Q(due_at__gte=now, due_at__lt=end)),
            call_backs=Count("id", filter=Q(kind=Task.Kind.CALL_BACK)),
        )
    )
    by_person = {row["assignee"]: row for row in tasks}
    leads = dict(
        Lead.objects.filter(responsible__in=people, status=Lead.Status.NEW, verdict="")
        .values("responsible")
        .annotate(n=Count("id"))
        .values_list("responsible", "n")
    )
    at_risk: dict[int, int] = {}
    risky = (
        SlaTimer.objects.filter(state__in=[SlaTimer.State.WARNED, SlaTimer.State.BREACHED])
        .exclude(state=SlaTimer.State.BREACHED, breached_at__lt=_start)
        .values_list("deal__responsible", "lead__responsible", "task__assignee")
    )
    for deal_owner, lead_owner, task_owner in risky:
        owner = deal_owner or lead_owner or task_owner
        if owner:
            at_risk[owner] = at_risk.get(owner, 0) + 1
    rows = []
    for person in people:
        counts = by_person.get(person.pk, {})
        rows.append(
            {
                "user": person,
                "open": counts.get("open", 0),
                "overdue": counts.get("overdue", 0),
                "today": counts.get("today", 0),
                "call_backs": counts.get("call_backs", 0),
                "waiting": leads.get(person.pk, 0),
                "sla_at_risk": at_risk.get(person.pk, 0),
            }
        )
    return sorted(
        rows, key=lambda r: (-r["overdue"], -r["sla_at_risk"], r["user"].full_name or r["user"].username)
    )


def sla_board(*, now: datetime.datetime | None = None) -> dict[str, Any]:
    """What is at risk now: running clocks due soonest, warned ones, and those breached today; by person."""
    now = now or timezone.now()
    start, _end = _day_bounds(now)
    timers = list(
        SlaTimer.objects.filter(
            Q(state__in=[SlaTimer.State.RUNNING, SlaTimer.State.WARNED])
            | Q(state=SlaTimer.State.BREACHED, breached_at__gte=start)
        )
        .select_related(
            "policy",
            "person",
            "lead__contact",
            "lead__responsible",
            "deal__responsible",
            "deal__contact",
            "task__assignee",
        )
        .order_by("due_at", "id")[:500]
    )
    people: dict[str, list[SlaTimer]] = {}
    for timer in timers:
        record = timer.deal or timer.lead or timer.task
        owner = timer.person or getattr(record, "responsible", None) or getattr(record, "assignee", None)
        timer.owner = owner  # type: ignore[attr-defined]
        name = (owner.full_name or owner.username) if owner else ""
        people.setdefault(name, []).append(timer)
    return {
        "timers": timers,
        "by_person": sorted(people.items(), key=lambda kv: kv[0]),
        "breached": sum(1 for t in timers if t.state == SlaTimer.State.BREACHED),
        "warned": sum(1 for t in timers if t.state == SlaTimer.State.WARNED),
        "running": sum(1 for t in timers if t.state == SlaTimer.State.RUNNING),
        "now": now,
    }


def sla_clocks(*, lead: Any = None, deal: Any = None) -> list[SlaTimer]:
    timers = SlaTimer.objects.filter(lead=lead) if lead is not None else SlaTimer.objects.filter(deal=deal)
    return list(timers.select_related("policy").order_by("started_at", "id"))

"""Report queries. Each takes the user first.

Two scopes meet here. The figures of a report are aggregates: the head of sales sees the whole
department's (non-target leads included, which the record scope hides from them), a sales manager
their own. The records behind a figure (the drill-down) always go through ``core.scoping.scope``.
Both are built from the same base filters (``*_base`` functions), so a figure and its list agree
whenever the user may see every record behind it.

Dates are calendar days in the department's time zone (``settings.TIME_ZONE``): a lead at 23:30
Moscow time belongs to that day. Non-target traffic is counted in traffic and left out of
conversion and revenue.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Right
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import SALES_ROLES, Role, User
from otdel.comms.models import CallStatus, Direction, Interaction, InteractionKind
from otdel.core.scoping import scope
from otdel.crm.models import (
    Contact,
    Deal,
    Identity,
    Lead,
    LostReason,
    NonTargetReason,
    Pipeline,
    Stage,
    Task,
    Verdict,
)
from otdel.reports.models import ManagerPlan, StageVisit

ZERO = Decimal("0.00")
MISSED = (CallStatus.MISSED, CallStatus.BUSY)


@dataclass(frozen=True)
class ReportFilters:
    """What every report can be narrowed by; the same names travel in the URL and the API."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    pipeline: Pipeline | None = None
    manager: Any = None
    source: str = ""
    channel: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    stale_days: int = 14
    # Funnel: also break the cohort down by this attribute of the deal's first lead.
    breakdown: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for links to drill-downs and exports)."""
        params = {
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "pipeline": str(self.pipeline.pk) if self.pipeline else "",
            "manager": str(self.manager.pk) if self.manager else "",
            "source": self.source,
            "channel": self.channel,
            "utm_source": self.utm_source,
            "utm_medium": self.utm_medium,
            "utm_campaign": self.utm_campaign,
            "breakdown": self.breakdown,
        }
        return {k: v for k, v in params.items() if v}


# --- who may see what ---------------------------------------------------------------------------


def can_see_reports(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and user.is_active and (user.is_admin or user.is_sales)
    )


def report_people(user: Any, manager: Any = None) -> QuerySet[User]:
    """The salespeople whose figures ``user`` may see (optionally just ``manager``)."""
    people = User.objects.filter(is_active=True, role__in=SALES_ROLES)
    if not can_see_reports(user):
        people = people.none()
    elif user.is_admin:
        pass
    elif user.role == Role.HEAD_OF_SALES:
        if user.department_id is not None:
            people = people.filter(Q(department_id=user.department_id) | Q(pk=user.pk))
    else:
        people = people.filter(pk=user.pk)
    if manager is not None:
        people = people.filter(pk=manager.pk)
    return people.order_by("full_name", "username")


def _owner_q(user: Any, field_name: str) -> Q | None:
    """Records counted in ``user``'s aggregates by their owner field; None = all of them."""
    if user.is_admin:
        return None
    if user.role == Role.HEAD_OF_SALES:
        if user.department_id is None:
            return None
        # The department's records, unassigned ones, and those held outside sales (non-target
        # traffic handed to the office manager is still the department's traffic).
        return (
            Q(**{f"{field_name}__department_id": user.department_id})
            | Q(**{f"{field_name}__isnull": True})
            | Q(**{field_name: user})
            | ~Q(**{f"{field_name}__role__in": SALES_ROLES})
        )
    return Q(**{field_name: user})


def leads_for_aggregates(user: Any) -> QuerySet[Lead]:
    """Leads counted in ``user``'s reports: unlike the record scope, non-target ones included."""
    if not can_see_reports(user):
        return Lead.objects.none()
    q = _owner_q(user, "responsible")
    return Lead.objects.all() if q is None else Lead.objects.filter(q)


def deals_for_aggregates(user: Any) -> QuerySet[Deal]:
    if not can_see_reports(user):
        return Deal.objects.none()
    return scope(Deal.objects.all(), user)


# --- shared filters ---------------------------------------------------------------------------------


def period_q(field_name: str, filters: ReportFilters) -> Q:
    """``field_name`` inside the period, by whole days in the department's time zone."""
    tz = timezone.get_default_timezone()
    q = Q()
    if filters.date_from:
        q &= Q(**{f"{field_name}__gte": datetime.datetime.combine(filters.date_from, datetime.time.min, tz)})
    if filters.date_to:
        end = filters.date_to + datetime.timedelta(days=1)
        q &= Q(**{f"{field_name}__lt": datetime.datetime.combine(end, datetime.time.min, tz)})
    return q


def _lead_attrs_q(filters: ReportFilters, prefix: str = "") -> Q:
    q = Q()
    for name in ("source", "channel", "utm_source", "utm_medium", "utm_campaign"):
        value = getattr(filters, name)
        if value:
            q &= Q(**{f"{prefix}{name}": value})
    return q


def _has_lead_attrs(filters: ReportFilters) -> bool:
    return any(getattr(filters, n) for n in ("source", "channel", "utm_source", "utm_medium", "utm_campaign"))


def _deal_attrs(qs: QuerySet[Deal], filters: ReportFilters) -> QuerySet[Deal]:
    """A deal's source, channel and UTM are those of the lead it came from."""
    if _has_lead_attrs(filters):
        qs = qs.filter(Exists(Lead.objects.filter(_lead_attrs_q(filters), deal=OuterRef("pk"))))
    if filters.manager is not None:
        qs = qs.filter(responsible=filters.manager)
    if filters.pipeline is not None:
        qs = qs.filter(pipeline=filters.pipeline)
    return qs


# Deals of non-target clients left out. Written as NOT IN over the (few) non-target contacts: the
# database reads the small ``non_target`` index once instead of every deal's contact row.
TARGET_DEAL = Q(contact__isnull=True) | ~Q(
    contact_id__in=Contact.objects.filter(non_target=True).values("pk")
)


def percentile(values: list[int], fraction: float) -> int | None:
    """Linear interpolation between the closest ranks (what PostgreSQL's percentile_cont does)."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * fraction
    low, high = math.floor(k), math.ceil(k)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low))


def percentiles_sql(
    sql: str, params: Any, fractions: tuple[float, ...] = (0.5, 0.9)
) -> dict[Any, list[int | None]]:
    """Per group, the ``fractions`` percentiles of a statement's ``(g, v)`` rows (``v`` not null),
    computed in the database: ``percentile_cont`` on PostgreSQL; on SQLite (which has none) the
    same linear interpolation between the closest ranks over a window, so both give what
    ``percentile`` gives in Python (rounded to whole seconds), without fetching every value."""
    if connection.vendor == "postgresql":
        columns = ", ".join(f"percentile_cont({f!r}) WITHIN GROUP (ORDER BY v)" for f in fractions)
        query = f"SELECT g, {columns} FROM ({sql}) b GROUP BY g"
    else:
        parts = []
        for f in fractions:
            k = f"((n - 1) * {f!r})"
            low = f"CAST({k} AS INTEGER)"
            parts.append(
                f"MAX(CASE WHEN i = {low} THEN v END) + (MAX(CASE WHEN i = {low} + ({k} > {low}) THEN v END)"
                f" - MAX(CASE WHEN i = {low} THEN v END)) * MAX({k} - {low})"
            )
        query = (
            f"SELECT g, {', '.join(parts)} FROM (SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) - 1 AS i,"
            f" COUNT(*) OVER (PARTITION BY g) AS n FROM ({sql}) b) r GROUP BY g"
        )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {row[0]: [None if x is None else round(x) for x in row[1:]] for row in cursor.fetchall()}


def seconds_between_sql(later: str, earlier: str) -> str:
    """SQL for the whole seconds from ``earlier`` to ``later`` (datetime columns), as Python's
    ``int((later - earlier).total_seconds())`` for later >= earlier."""
    if connection.vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})))"
    # SQLite keeps datetimes as text "YYYY-MM-DD HH:MM:SS[.ffffff]": whole seconds, then the fractions.
    fraction = "CAST('0' || substr({0}, 20) AS REAL)"
    return (
        f"CAST((strftime('%%s', {later}) - strftime('%%s', {earlier})) + "
        f"{fraction.format(later)} - {fraction.format(earlier)} AS INTEGER)"
    )


def _money(value: Any) -> str:
    return str((value or ZERO).quantize(Decimal("0.01")))


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# --- funnel -----------------------------------------------------------------------------------------


def funnel_base(qs: QuerySet[Deal], filters: ReportFilters) -> QuerySet[Deal]:
    """Deals in the funnel: made in the period, target, matching the filters."""
    return _deal_attrs(qs.filter(period_q("created_at", filters)).filter(TARGET_DEAL), filters)


def funnel_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    """Deals of a pipeline made in the period, followed through the stage history.

    ``reached``: deals that were in the stage at any moment; ``step_conversion``: reached / reached
    of the previous stage (the first stage, and the lost stages, against all deals in the funnel);
    ``conversion``: reached / deals in the funnel; ``count``/``amount``: the deals there now;
    ``time_median``/``time_p90``: seconds spent in the stage by deals that have left it.
    """
    pipeline = filters.pipeline
    if pipeline is None:
        return {
            "rows": [],
            "total": 0,
            "by_manager": [],
            "lost_reasons": [],
            "won": {},
            "breakdown": "",
            "by_group": [],
        }
    stages = list(pipeline.stages.order_by("order", "id"))
    cohort = funnel_base(deals_for_aggregates(user), filters)
    now = {
        row["stage_id"]: row
        for row in cohort.values("stage_id").annotate(count=Count("id"), amount=Sum("amount")).order_by()
    }
    total = sum(row["count"] for row in now.values())
    reached: dict[int, int] = defaultdict(int)
    reached_amount: dict[int, Decimal] = defaultdict(Decimal)
    matrix: dict[int | None, dict[int, dict[str, Any]]] = defaultdict(dict)
    visits = (
        StageVisit.objects.filter(first=True, deal__in=cohort.values("pk"))
        .values("stage_id", "deal__responsible_id")
        .annotate(n=Count("id"), amount=Sum("deal__amount"))
        .order_by()
    )
    for row in visits:
        reached[row["stage_id"]] += row["n"]
        reached_amount[row["stage_id"]] += row["amount"] or ZERO
        matrix[row["deal__responsible_id"]][row["stage_id"]] = {"reached": row["n"], "amount": row["amount"]}
    finished = StageVisit.objects.filter(deal__in=cohort.values("pk"), seconds__isnull=False)
    inner, params = finished.values_list("stage_id", "seconds").order_by().query.sql_with_params()
    durations = percentiles_sql(f"SELECT stage_id AS g, seconds AS v FROM ({inner}) s", params)

    rows = []
    previous: int | None = None
    for stage in stages:
        here = reached.get(stage.pk, 0)
        base = total if stage.kind == Stage.Kind.LOST or previous is None else previous
        rows.append(
            {
                "stage": stage.name,
                "stage_id": stage.pk,
                "kind": stage.kind,
                "count": now.get(stage.pk, {}).get("count", 0),
                "amount": _money(now.get(stage.pk, {}).get("amount")),
                "reached": here,
                "reached_amount": _money(reached_amount.get(stage.pk)),
                "step_conversion": _share(here, base),
                "conversion": _share(here, total),
                "time_median": durations.get(stage.pk, [None, None])[0],
                "time_p90": durations.get(stage.pk, [None, None])[1],
            }
        )
        if stage.kind != Stage.Kind.LOST:
            previous = here
    names = dict(User.objects.filter(pk__in=[k for k in matrix if k]).values_list("pk", "full_name"))
    usernames = dict(User.objects.filter(pk__in=[k for k in matrix if k]).values_list("pk", "username"))
    by_manager = [
        {
            "manager": manager_id,
            "name": (names.get(manager_id) or usernames.get(manager_id, "")) if manager_id else "",
            "stages": [
                {
                    "stage_id": stage.pk,
                    "reached": cells.get(stage.pk, {}).get("reached", 0),
                    "amount": _money(cells.get(stage.pk, {}).get("amount")),
                }
                for stage in stages
            ],
        }
        for manager_id, cells in sorted(
            matrix.items(), key=lambda item: (item[0] is None, names.get(item[0] or 0) or "", item[0] or 0)
        )
    ]
    won_stages = [s.pk for s in stages if s.kind == Stage.Kind.WON]
    won = {
        "count": sum(now.get(pk, {}).get("count", 0) for pk in won_stages),
        "amount": _money(sum((now.get(pk, {}).get("amount") or ZERO for pk in won_stages), ZERO)),
    }
    return {
        "rows": rows,
        "total": total,
        "won": won,
        "by_manager": by_manager,
        "lost_reasons": _lost_reason_rows(cohort.filter(stage__kind=Stage.Kind.LOST)),
        "breakdown": filters.breakdown if filters.breakdown in BREAKDOWNS else "",
        "by_group": funnel_breakdown(cohort, stages, filters.breakdown),
    }


BREAKDOWNS = ("source", "channel", "utm_source", "utm_medium", "utm_campaign")


def _first_lead_value(breakdown: str, deal_ref: str) -> Coalesce:
    """The ``breakdown`` field of the lead a deal was made from (its first lead), "" when none."""
    from django.db.models import CharField, Subquery

    first = Lead.objects.filter(deal=OuterRef(deal_ref)).order_by("created_at", "id").values(breakdown)[:1]
    return Coalesce(Subquery(first, output_field=CharField()), Value(""))


def funnel_breakdown(cohort: QuerySet[Deal], stages: list[Stage], breakdown: str) -> list[dict[str, Any]]:
    """Reached per stage for each value of ``breakdown`` (source, channel or a UTM tag)."""
    if breakdown not in BREAKDOWNS:
        return []
    totals = dict(
        cohort.annotate(g=_first_lead_value(breakdown, "pk"))
        .values("g")
        .annotate(n=Count("id"))
        .values_list("g", "n")
    )
    cells: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    visits = (
        StageVisit.objects.filter(first=True, deal__in=cohort.values("pk"))
        .annotate(g=_first_lead_value(breakdown, "deal_id"))
        .values("g", "stage_id")
        .annotate(n=Count("id"), amount=Sum("deal__amount"))
        .order_by()
    )
    for row in visits:
        cells[row["g"]][row["stage_id"]] = row
    return [
        {
            "group": group,
            "total": total,
            "stages": [
                {
                    "stage_id": stage.pk,
                    "reached": cells[group].get(stage.pk, {}).get("n", 0),
                    "amount": _money(cells[group].get(stage.pk, {}).get("amount")),
                    "conversion": _share(cells[group].get(stage.pk, {}).get("n", 0), total),
                }
                for stage in stages
            ],
        }
        for group, total in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


# --- traffic ------------------------------------------------------------------------------------------

TRAFFIC_SOURCE = Coalesce(NullIf("utm_source", Value("")), "source")


def traffic_base(qs: QuerySet[Lead], filters: ReportFilters) -> QuerySet[Lead]:
    """Inbound leads of the period; a lead merged as a duplicate is not new traffic."""
    qs = qs.filter(period_q("created_at", filters), _lead_attrs_q(filters)).exclude(verdict=Verdict.DUPLICATE)
    if filters.manager is not None:
        qs = qs.filter(responsible=filters.manager)
    return qs


def traffic_source_q(value: str) -> Q:
    """Leads whose traffic source (UTM source, else the lead's source) is ``value``."""
    return Q(utm_source=value) | (Q(utm_source="") & Q(source=value))


def _reason_q(reason: str) -> Q:
    return Q(verdict=Verdict.NON_TARGET) & (
        Q(verdict_reason=reason) | Q(verdict_reason__startswith=f"{reason}:")
    )


def traffic_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    """Leads by channel and source (UTM source when known), with non-target counts and reasons."""
    leads = traffic_base(leads_for_aggregates(user), filters)
    reasons = {reason: Count("id", filter=_reason_q(reason)) for reason in NonTargetReason.values}
    rows = (
        leads.annotate(src=TRAFFIC_SOURCE)
        .values("channel", "src")
        .annotate(
            total=Count("id"),
            non_target=Count("id", filter=Q(verdict=Verdict.NON_TARGET)),
            qualified=Count("id", filter=Q(verdict=Verdict.QUALIFIED)),
            untriaged=Count("id", filter=Q(verdict="")),
            **{f"reason_{k}": v for k, v in reasons.items()},
        )
        .order_by("-total", "channel", "src")
    )
    out = [
        {
            "channel": row["channel"],
            "source": row["src"],
            "total": row["total"],
            "non_target": row["non_target"],
            "non_target_share": _share(row["non_target"], row["total"]),
            "qualified": row["qualified"],
            "untriaged": row["untriaged"],
            "non_target_reasons": {reason: row[f"reason_{reason}"] for reason in NonTargetReason.values},
        }
        for row in rows
    ]
    total = sum(r["total"] for r in out)
    non_target = sum(r["non_target"] for r in out)
    return {
        "rows": out,
        "totals": {
            "total": total,
            "non_target": non_target,
            "non_target_share": _share(non_target, total),
            "qualified": sum(r["qualified"] for r in out),
            "untriaged": sum(r["untriaged"] for r in out),
        },
    }


# --- managers -------------------------------------------------------------------------------------


def manager_leads_base(qs: QuerySet[Lead], filters: ReportFilters) -> QuerySet[Lead]:
    """Leads a salesperson received: target ones (non-target and duplicates are not their work)."""
    return (
        qs.filter(period_q("created_at", filters), _lead_attrs_q(filters))
        .exclude(verdict__in=[Verdict.NON_TARGET, Verdict.DUPLICATE])
        .exclude(contact__non_target=True)
    )


def won_base(qs: QuerySet[Deal], filters: ReportFilters) -> QuerySet[Deal]:
    """Deals won in the period (by the close date), target only."""
    qs = qs.filter(stage__kind=Stage.Kind.WON).filter(period_q("closed_at", filters)).filter(TARGET_DEAL)
    return _deal_attrs(qs, filters)


def calls_base(filters: ReportFilters) -> QuerySet[Interaction]:
    return Interaction.objects.filter(period_q("occurred_at", filters), kind=InteractionKind.CALL)


def _returned() -> Exists:
    """A missed call somebody called back afterwards."""
    return Exists(
        Interaction.objects.filter(
            contact=OuterRef("contact"),
            kind=InteractionKind.CALL,
            direction=Direction.OUT,
            occurred_at__gt=OuterRef("occurred_at"),
        )
    )


def overdue_base(qs: QuerySet[Task]) -> QuerySet[Task]:
    return qs.filter(done_at__isnull=True, due_at__lt=timezone.now())


def _first_response() -> Any:
    """When somebody first answered the lead's person: an answered outbound call, a sent e-mail or
    message after the lead arrived (CONTRACTS "Tasks, automation, SLA")."""
    from django.db.models import Subquery

    return Subquery(
        Interaction.objects.filter(
            contact=OuterRef("contact"), direction=Direction.OUT, occurred_at__gte=OuterRef("created_at")
        )
        .filter(
            Q(kind=InteractionKind.CALL, status=CallStatus.ANSWERED)
            | Q(kind__in=[InteractionKind.EMAIL, InteractionKind.MESSAGE])
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )


class WorkingClock:
    """Seconds of one person's working time between two moments: their working days and hours by
    the production calendar (holidays skipped, pre-holiday days an hour shorter, transferred working
    Saturdays counted), in the department's time zone — what ``automation.worktime`` counts, but
    with each year's days summed once, so a report over many leads pays a lookup per moment.

    A lead that came at night and was answered at 9:05 was answered in 5 minutes; one on Friday at
    17:50 answered on Monday at 9:10 in 20 minutes.
    """

    def __init__(self, person: Any) -> None:
        self.work_days = list(person.work_days) if person.work_days is not None else None
        self.start, self.end = person.work_start, person.work_end
        self.tz = timezone.get_default_timezone()
        self._years: dict[int, list[int]] = {}
        self._lengths: dict[datetime.date, int] = {}

    def _length(self, day: datetime.date) -> int:
        """Working seconds of the day (kept: a report asks about the same days again and again)."""
        from otdel.core.calendar import is_short_day, is_working_day

        if day not in self._lengths:
            seconds = 0
            if is_working_day(day, self.work_days):
                window = datetime.datetime.combine(day, self.end) - datetime.datetime.combine(day, self.start)
                seconds = max(0, int(window.total_seconds()) - (3600 if is_short_day(day) else 0))
            self._lengths[day] = seconds
        return self._lengths[day]

    def _prefix(self, year: int) -> list[int]:
        """Working seconds of the year's days before each day (index = day of the year - 1)."""
        if year not in self._years:
            day, total, prefix = datetime.date(year, 1, 1), 0, [0]
            while day.year == year:
                total += self._length(day)
                prefix.append(total)
                day += datetime.timedelta(days=1)
            self._years[year] = prefix
        return self._years[year]

    def _since_new_year(self, local: datetime.datetime) -> int:
        day = local.date()
        opened = datetime.datetime.combine(day, self.start)
        inside = min(max(int((local - opened).total_seconds()), 0), self._length(day))
        return self._prefix(day.year)[day.timetuple().tm_yday - 1] + inside

    def seconds(self, since: datetime.datetime, until: datetime.datetime) -> int:
        if until <= since:
            return 0
        a = since.astimezone(self.tz).replace(tzinfo=None)
        b = until.astimezone(self.tz).replace(tzinfo=None)
        between = sum(self._prefix(year)[-1] for year in range(a.year, b.year))
        return max(0, between + self._since_new_year(b) - self._since_new_year(a))


def response_seconds(since: datetime.datetime, until: datetime.datetime, person: Any) -> int:
    """Seconds of ``person``'s working time from ``since`` to ``until`` (see ``WorkingClock``)."""
    return WorkingClock(person).seconds(since, until)


def _plans(people: list[int], filters: ReportFilters) -> dict[int, Decimal]:
    plans = ManagerPlan.objects.filter(user_id__in=people)
    if filters.date_from:
        plans = plans.filter(month__gte=filters.date_from.replace(day=1))
    if filters.date_to:
        plans = plans.filter(month__lte=filters.date_to)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for user_id, amount in plans.values_list("user_id", "amount"):
        totals[user_id] += amount
    return totals


def managers_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    """One row per salesperson: leads, first response, calls, e-mails, messages, won deals, revenue,
    overdue tasks, plan vs fact, SLA compliance (share of the person's SLA clocks met, see sla_report).

    First response is counted on the salesperson's working time (see ``WorkingClock``)."""
    people = list(report_people(user, filters.manager))
    ids = [p.pk for p in people]
    leads = manager_leads_base(Lead.objects.filter(responsible_id__in=ids), filters)
    lead_counts = dict(
        leads.values("responsible_id").annotate(n=Count("id")).values_list("responsible_id", "n")
    )
    responses: dict[int, list[int]] = defaultdict(list)
    clocks = {p.pk: WorkingClock(p) for p in people}
    for owner, created, answered, triaged_at, triaged_by in (
        leads.annotate(first_out=_first_response())
        .values_list("responsible_id", "created_at", "first_out", "triaged_at", "triaged_by_id")
        .order_by()
    ):
        moments = [
            m for m in (answered, triaged_at if triaged_by else None) if m is not None and m >= created
        ]
        if moments:
            responses[owner].append(clocks[owner].seconds(created, min(moments)))
    sla = SLA_PROVIDER(user, filters)["by_person"] if SLA_PROVIDER is not None else []
    sla_by_person = {row["person_id"]: row["compliance"] for row in sla}

    calls = calls_base(filters)
    by_user = {
        row["user_id"]: row
        for row in Interaction.objects.filter(period_q("occurred_at", filters), user_id__in=ids)
        .values("user_id")
        .annotate(
            calls_made=Count("id", filter=Q(kind=InteractionKind.CALL, direction=Direction.OUT)),
            calls_answered=Count(
                "id", filter=Q(kind=InteractionKind.CALL, direction=Direction.IN, status=CallStatus.ANSWERED)
            ),
            emails_sent=Count("id", filter=Q(kind=InteractionKind.EMAIL, direction=Direction.OUT)),
            messages_sent=Count("id", filter=Q(kind=InteractionKind.MESSAGE, direction=Direction.OUT)),
        )
        .order_by()
    }
    missed = {
        row["routed_to_id"]: row
        for row in calls.filter(direction=Direction.IN, status__in=MISSED, routed_to_id__in=ids)
        .annotate(returned=_returned())
        .values("routed_to_id")
        .annotate(missed=Count("id"), returned_count=Count("id", filter=Q(returned=True)))
        .order_by()
    }
    won = {
        row["responsible_id"]: row
        for row in won_base(Deal.objects.filter(responsible_id__in=ids), filters)
        .values("responsible_id")
        .annotate(n=Count("id"), revenue=Sum("amount"))
        .order_by()
    }
    overdue = dict(
        overdue_base(Task.objects.filter(assignee_id__in=ids))
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    plans = _plans(ids, filters)
    rows = []
    for person in people:
        u, m, w = by_user.get(person.pk, {}), missed.get(person.pk, {}), won.get(person.pk, {})
        revenue = w.get("revenue") or ZERO
        deals_won = w.get("n", 0)
        plan = plans.get(person.pk)
        rows.append(
            {
                "manager": person.pk,
                "name": person.get_full_name(),
                "leads": lead_counts.get(person.pk, 0),
                "first_response_median": percentile(responses.get(person.pk, []), 0.5),
                "first_response_p90": percentile(responses.get(person.pk, []), 0.9),
                "calls_made": u.get("calls_made", 0),
                "calls_answered": u.get("calls_answered", 0),
                "calls_missed": m.get("missed", 0),
                "calls_returned": m.get("returned_count", 0),
                "emails_sent": u.get("emails_sent", 0),
                "messages_sent": u.get("messages_sent", 0),
                "sla_compliance": sla_by_person.get(person.pk),
                "deals_won": deals_won,
                "revenue": _money(revenue),
                "average_deal": _money(revenue / deals_won) if deals_won else _money(ZERO),
                "tasks_overdue": overdue.get(person.pk, 0),
                "plan": _money(plan) if plan is not None else None,
                "plan_percent": round(float(revenue / plan) * 100, 1) if plan else None,
            }
        )
    return {"rows": rows}


# --- lost reasons ---------------------------------------------------------------------------------


def lost_base(qs: QuerySet[Deal], filters: ReportFilters) -> QuerySet[Deal]:
    """Deals lost in the period (by the close date), target only."""
    qs = qs.filter(stage__kind=Stage.Kind.LOST).filter(period_q("closed_at", filters)).filter(TARGET_DEAL)
    return _deal_attrs(qs, filters)


def _lost_reason_rows(deals: QuerySet[Deal]) -> list[dict[str, Any]]:
    rows = list(
        deals.values("lost_reason_id", "lost_reason__name")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("-count", "lost_reason__name")
    )
    total = sum(r["count"] for r in rows)
    return [
        {
            "reason": r["lost_reason__name"] or str(_("No reason")),
            "reason_id": r["lost_reason_id"],
            "count": r["count"],
            "amount": _money(r["amount"]),
            "share": _share(r["count"], total),
        }
        for r in rows
    ]


def lost_reasons_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    rows = _lost_reason_rows(lost_base(deals_for_aggregates(user), filters))
    return {"rows": rows, "total": sum(r["count"] for r in rows)}


# --- data quality -----------------------------------------------------------------------------------


def _stale_cutoff(filters: ReportFilters) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=max(1, filters.stale_days))


# A contact's name and company as one value: "name|company id" ("name|" without a company). The
# company part is digits, so the last "|" splits it back and two different pairs never meet.
NAME_KEY = Concat(
    "full_name",
    Value("|"),
    Coalesce(Cast("company_id", CharField()), Value("")),
    output_field=CharField(),
)


def likely_duplicates(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Contacts that look like one person: the same name at the same company (among ``contacts``),
    or phones that end in the same ten digits (one number written with different country codes).

    The names are compared in the database (``NAME_KEY IN`` the keys seen twice), one statement;
    at scale 1 the 100,000 pairs seen twice were 500 statements of 200 ``OR``ed pairs and a final
    ``IN`` of 400,000 ids, two thirds of the report's time spent building them in Python."""
    twice = (
        contacts.annotate(name_key=NAME_KEY)
        .values("name_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("name_key")
        .order_by()
    )
    same = Q(name_key__in=twice)
    # Two steps: the (few) shared ten-digit tails over all phones, then the visible contacts holding
    # them; one statement nesting both made PostgreSQL re-run the grouping (5 s on 100k phones).
    tails = list(
        Identity.objects.filter(kind="phone")
        .annotate(tail=Right("value", 10))
        .values("tail")
        .annotate(n=Count("contact_id", distinct=True))
        .filter(n__gt=1)
        .values_list("tail", flat=True)
    )
    for start in range(0, len(tails), 500):
        same |= Q(
            pk__in=Identity.objects.filter(kind="phone")
            .annotate(tail=Right("value", 10))
            .filter(tail__in=tails[start : start + 500])
            .values("contact_id")
        )
    return contacts.annotate(name_key=NAME_KEY).filter(same)


QUALITY_CHECKS = {
    "deals_without_source": _("Deals without a source (no lead)"),
    "deals_without_amount": _("Deals without an amount"),
    "contacts_without_identity": _("Contacts without any phone, e-mail or messenger"),
    "likely_duplicates": _("Likely duplicate contacts"),
    "stale_deals": _("Stale deals (no activity)"),
    "untriaged_leads": _("Leads never triaged"),
}


def quality_base(check: str, user: Any, filters: ReportFilters, *, records: bool) -> QuerySet[Any]:
    """The records behind one data-quality check (``records``: through the record scope)."""
    deals = scope(Deal.objects.all(), user) if records else deals_for_aggregates(user)
    deals = _deal_attrs(deals, filters)
    if check == "deals_without_source":
        return deals.filter(period_q("created_at", filters)).exclude(
            Exists(Lead.objects.filter(deal=OuterRef("pk")))
        )
    if check == "deals_without_amount":
        return deals.filter(period_q("created_at", filters), amount=0).exclude(stage__kind=Stage.Kind.LOST)
    if check == "stale_deals":
        cutoff = _stale_cutoff(filters)
        return deals.filter(stage__kind=Stage.Kind.OPEN, updated_at__lt=cutoff).exclude(
            Exists(Interaction.objects.filter(deal=OuterRef("pk"), occurred_at__gte=cutoff))
        )
    contacts = (
        scope(Contact.objects.filter(merged_into__isnull=True), user) if can_see_reports(user) else None
    )
    if check == "contacts_without_identity" and contacts is not None:
        return contacts.filter(period_q("created_at", filters)).exclude(
            Exists(Identity.objects.filter(contact=OuterRef("pk")))
        )
    if check == "likely_duplicates" and contacts is not None:
        return likely_duplicates(contacts)
    if check == "untriaged_leads":
        leads = scope(Lead.objects.all(), user) if records else leads_for_aggregates(user)
        return traffic_base(leads, filters).filter(verdict="")
    return Contact.objects.none()


def data_quality_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    rows = [
        {
            "check": check,
            "title": str(title),
            "count": quality_base(check, user, filters, records=False).count(),
        }
        for check, title in QUALITY_CHECKS.items()
    ]
    return {"rows": rows, "stale_days": filters.stale_days}


# --- SLA -----------------------------------------------------------------------------------------------


def sla_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    """Met / breached by policy and person, and the longest breaches.

    The figures come from a provider registered by the automation app (which owns the SLA clocks):
    a callable ``(user, filters) -> dict`` with ``rows`` (``policy``, ``person``, ``met``,
    ``breached``, ``compliance``), ``by_policy``, ``by_person`` and ``longest``. Without one the
    report says it is not available.
    """
    if SLA_PROVIDER is None:
        return {"available": False, "rows": [], "by_policy": [], "by_person": [], "longest": []}
    return {"available": True, **SLA_PROVIDER(user, filters)}


SLA_PROVIDER: Any = None
SLA_DRILL: Any = None


def sla_provider_register(provider: Any, drill: Any = None) -> None:
    """``provider(user, filters)`` gives the figures; ``drill(user, filters)`` -> ``(kind, queryset)``
    the records behind one of them (``sla.records`` drill-down)."""
    global SLA_PROVIDER, SLA_DRILL
    SLA_PROVIDER, SLA_DRILL = provider, drill


# --- regulations: acknowledgements and checklists -----------------------------------------------------


def ack_people(user: Any) -> QuerySet[User]:
    """Whose reading of the regulations ``user`` sees: everyone (administrator), the department (head
    of sales), themselves (a salesperson)."""
    people = User.objects.filter(is_active=True)
    if not can_see_reports(user):
        return people.none()
    if user.is_admin:
        return people
    if user.role == Role.HEAD_OF_SALES and user.department_id is not None:
        return people.filter(Q(department_id=user.department_id) | Q(pk=user.pk))
    return people.filter(pk=user.pk)


def regulations_report(*, user: Any, filters: ReportFilters) -> dict[str, Any]:
    """Who confirmed reading the current version of each regulation that asks for it (per article and
    per person), and how the stage checklists are kept (share of stage exits with every item done, per
    manager and per stage, in the period)."""
    from otdel.kb.models import Acknowledgement
    from otdel.kb.selectors import ack_audience, adherence, published_articles

    visible = set(ack_people(user).values_list("pk", flat=True))
    if filters.manager is not None:
        visible &= {filters.manager.pk}
    articles = [a for a in published_articles(user=user).order_by("title", "id") if a.needs_acknowledgement]
    read = set(
        Acknowledgement.objects.filter(article__in=articles).values_list("article_id", "user_id", "number")
    )
    rows = []
    per_person: dict[int, list[Any]] = defaultdict(list)
    for article in articles:
        audience = [pk for pk in ack_audience(article).values_list("pk", flat=True) if pk in visible]
        done = [pk for pk in audience if (article.pk, pk, article.published_number) in read]
        for pk in audience:
            per_person[pk].append((article, pk in done))
        rows.append(
            {
                "article": article.title,
                "article_id": article.pk,
                "version": article.published_number,
                "audience": len(audience),
                "acknowledged": len(done),
                "pending": len(audience) - len(done),
                "share": _share(len(done), len(audience)),
            }
        )
    people = {u.pk: u for u in User.objects.filter(pk__in=list(per_person))}
    by_person = [
        {
            "person": people[pk].get_full_name(),
            "person_id": pk,
            "required": len(items),
            "acknowledged": sum(1 for _a, ok in items if ok),
            "share": _share(sum(1 for _a, ok in items if ok), len(items)),
            "pending_articles": [a.title for a, ok in items if not ok],
        }
        for pk, items in sorted(per_person.items(), key=lambda kv: people[kv[0]].get_full_name())
    ]

    def checklist(by: str) -> list[dict[str, Any]]:
        found = adherence(user=user, by=by, date_from=filters.date_from, date_to=filters.date_to)
        if by == "manager" and filters.manager is not None:
            found = [r for r in found if r.key == filters.manager.pk]
        return [
            {"id": r.key, "name": r.name, "exits": r.exits, "complete": r.complete, "share": r.share}
            for r in found
        ]

    return {
        "rows": rows,
        "by_person": by_person,
        "checklist_by_manager": checklist("manager"),
        "checklist_by_stage": checklist("stage"),
    }


def regulation_readers(*, user: Any, article_id: int | None, state: str = "") -> QuerySet[User]:
    """The people asked to read one article, each with the newest version they confirmed
    (``read_version``, ``read_at``); ``state`` "read" / "pending" for the current version."""
    from django.db.models import Subquery

    from otdel.kb.models import Acknowledgement
    from otdel.kb.selectors import ack_audience, published_articles

    article = published_articles(user=user).filter(pk=article_id or 0).first()
    if article is None:
        return User.objects.none()
    latest = Acknowledgement.objects.filter(article=article, user=OuterRef("pk")).order_by("-number", "-at")
    people = (
        ack_people(user)
        .filter(pk__in=ack_audience(article).values("pk"))
        .annotate(
            read_version=Subquery(latest.values("number")[:1]), read_at=Subquery(latest.values("at")[:1])
        )
    )
    current = Exists(
        Acknowledgement.objects.filter(article=article, user=OuterRef("pk"), number=article.published_number)
    )
    if state == "read":
        people = people.filter(current)
    elif state == "pending":
        people = people.exclude(current)
    return people


# --- drill-down ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    kind: str  # "deals" | "leads" | "contacts" | "tasks" | "interactions" | "people"
    queryset: QuerySet[Any]
    title: str


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _visible_interactions(user: Any) -> QuerySet[Interaction]:
    if user.is_admin:
        return Interaction.objects.all()
    return Interaction.objects.filter(
        Q(contact__in=scope(Contact.objects.all(), user)) | Q(user=user) | Q(routed_to=user)
    )


def drill_down(*, user: Any, metric: str, filters: ReportFilters) -> Drill | None:
    """The records behind one figure, through the record scope; None for an unknown metric."""
    x = filters.extra
    qs: QuerySet[Any]
    deals = scope(Deal.objects.all(), user)
    leads = scope(Lead.objects.all(), user)
    person = _int(x.get("user"))
    if metric in ("funnel.reached", "funnel.now", "funnel.cohort"):
        cohort = funnel_base(deals, filters)
        stage = _int(x.get("stage")) or 0
        if metric == "funnel.reached":
            cohort = cohort.filter(Exists(StageVisit.objects.filter(deal=OuterRef("pk"), stage_id=stage)))
        elif metric == "funnel.now":
            cohort = cohort.filter(stage_id=stage)
        if "responsible" in x:
            cohort = cohort.filter(responsible_id=_int(x["responsible"]))
        if filters.breakdown in BREAKDOWNS and "group" in x:
            cohort = cohort.annotate(g=_first_lead_value(filters.breakdown, "pk")).filter(g=x["group"])
        return Drill("deals", cohort, str(_("Deals")))
    if metric == "traffic.leads":
        qs = traffic_base(leads, filters)
        if x.get("traffic_channel"):
            qs = qs.filter(channel=x["traffic_channel"])
        if x.get("traffic_source"):
            qs = qs.filter(traffic_source_q(x["traffic_source"]))
        if x.get("verdict") in ("non_target", "qualified"):
            qs = qs.filter(verdict=x["verdict"])
        elif x.get("verdict") == "none":
            qs = qs.filter(verdict="")
        return Drill("leads", qs, str(_("Leads")))
    if metric == "managers.leads":
        return Drill(
            "leads", manager_leads_base(leads.filter(responsible_id=person), filters), str(_("Leads"))
        )
    if metric == "managers.won":
        return Drill("deals", won_base(deals.filter(responsible_id=person), filters), str(_("Deals won")))
    if metric == "managers.overdue":
        from otdel.crm.selectors import task_list

        return Drill(
            "tasks", overdue_base(task_list(user=user).filter(assignee_id=person)), str(_("Overdue tasks"))
        )
    if metric.startswith("managers.calls_") or metric in ("managers.emails_sent", "managers.messages_sent"):
        seen = _visible_interactions(user).filter(period_q("occurred_at", filters))
        which = {
            "managers.calls_made": Q(user_id=person, kind=InteractionKind.CALL, direction=Direction.OUT),
            "managers.calls_answered": Q(
                user_id=person, kind=InteractionKind.CALL, direction=Direction.IN, status=CallStatus.ANSWERED
            ),
            "managers.calls_missed": Q(
                routed_to_id=person, kind=InteractionKind.CALL, direction=Direction.IN, status__in=MISSED
            ),
            "managers.emails_sent": Q(user_id=person, kind=InteractionKind.EMAIL, direction=Direction.OUT),
            "managers.messages_sent": Q(
                user_id=person, kind=InteractionKind.MESSAGE, direction=Direction.OUT
            ),
        }
        calls: QuerySet[Interaction]
        if metric == "managers.calls_returned":
            calls = seen.filter(which["managers.calls_missed"]).filter(_returned())
        elif metric in which:
            calls = seen.filter(which[metric])
        else:
            return None
        return Drill("interactions", calls, str(_("Interactions")))
    if metric == "lost.deals":
        lost = lost_base(deals, filters)
        reason = x.get("reason")
        lost = (
            lost.filter(lost_reason__isnull=True)
            if reason in ("", "none", None)
            else lost.filter(lost_reason_id=_int(reason))
        )
        return Drill("deals", lost, str(_("Lost deals")))
    if metric == "regulations.readers":
        readers = regulation_readers(user=user, article_id=_int(x.get("article")), state=x.get("state", ""))
        return Drill("people", readers, str(_("Who has read it")))
    if metric == "sla.records" and SLA_DRILL is not None:
        found = SLA_DRILL(user, filters)
        if found is None:
            return None
        kind, records = found
        title = _("Met the SLA") if x.get("state") == "met" else _("SLA breached")
        return Drill(kind, records, str(title if x.get("state") else _("SLA clocks")))
    if metric.startswith("quality."):
        check = metric.removeprefix("quality.")
        if check not in QUALITY_CHECKS:
            return None
        qs = quality_base(check, user, filters, records=True)
        kind = (
            "leads"
            if check == "untriaged_leads"
            else "contacts"
            if "contacts" in check or check == "likely_duplicates"
            else "deals"
        )
        return Drill(kind, qs, str(QUALITY_CHECKS[check]))
    return None


def drill_expected(*, user: Any, metric: str, filters: ReportFilters) -> int | None:
    """The figure the report shows for this drill-down (to tell how many records are out of reach)."""
    if metric == "traffic.leads":
        x = filters.extra
        qs = traffic_base(leads_for_aggregates(user), filters)
        if x.get("traffic_channel"):
            qs = qs.filter(channel=x["traffic_channel"])
        if x.get("traffic_source"):
            qs = qs.filter(traffic_source_q(x["traffic_source"]))
        if x.get("verdict") in ("non_target", "qualified"):
            qs = qs.filter(verdict=x["verdict"])
        elif x.get("verdict") == "none":
            qs = qs.filter(verdict="")
        return qs.count()
    return None


def lost_reason_choices() -> QuerySet[LostReason]:
    return LostReason.objects.order_by("order", "name")


def pipeline_default(user: Any) -> Pipeline | None:
    return default_of(list(scope(Pipeline.objects.filter(is_active=True), user)))


def default_of(pipelines: list[Pipeline]) -> Pipeline | None:
    """The pipeline a report shows when none is chosen: the default one, else the first (in the
    pipelines' own order)."""
    return next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)

"""The reports section: a page per report (filters in the URL), drill-downs, exports, plans."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from otdel.crm.models import Channel, LeadSource, NonTargetReason
from otdel.reports import selectors, services
from otdel.reports.export import export_response, label
from otdel.reports.forms import ReportFilterForm, drill_extra, month_choices
from otdel.reports.models import ManagerPlan, ReportSubscription

# name -> (title, selector, filter fields shown)
PERIOD = ("date_from", "date_to")
LEAD_ATTRS = ("source", "channel", "utm_source", "utm_medium", "utm_campaign")
REPORTS: dict[str, tuple[Any, Any, tuple[str, ...]]] = {
    "funnel": (
        gettext_lazy("Funnel and conversion"),
        selectors.funnel_report,
        (*PERIOD, "pipeline", "manager", *LEAD_ATTRS, "breakdown"),
    ),
    "traffic": (gettext_lazy("Traffic"), selectors.traffic_report, (*PERIOD, *LEAD_ATTRS, "manager")),
    "managers": (gettext_lazy("Managers"), selectors.managers_report, (*PERIOD, "manager")),
    "lost-reasons": (
        gettext_lazy("Lost reasons"),
        selectors.lost_reasons_report,
        (*PERIOD, "pipeline", "manager", *LEAD_ATTRS),
    ),
    "data-quality": (
        gettext_lazy("Data quality"),
        selectors.data_quality_report,
        (*PERIOD, "manager", "stale_days"),
    ),
    "sla": (gettext_lazy("SLA"), selectors.sla_report, (*PERIOD, "manager")),
    "regulations": (gettext_lazy("Regulations"), selectors.regulations_report, (*PERIOD, "manager")),
}
PAGE_SIZE = 50


def _require_reports(request: HttpRequest) -> None:
    if not selectors.can_see_reports(request.user):
        raise PermissionDenied


def _form(request: HttpRequest, name: str) -> ReportFilterForm:
    return ReportFilterForm(request.GET, user=request.user, fields=REPORTS[name][2])


@login_required
def reports_index(request: HttpRequest) -> HttpResponse:
    _require_reports(request)
    user: Any = request.user
    subscribed = set(
        ReportSubscription.objects.filter(user=user, is_active=True).values_list("frequency", flat=True)
    )
    return render(
        request,
        "reports/index.html",
        {
            "reports": [(name, spec[0]) for name, spec in REPORTS.items()],
            "subscribed": subscribed,
            "frequencies": ReportSubscription.Frequency.choices,
            "can_plan": request.user.is_admin or request.user.is_head_of_sales,  # type: ignore[union-attr]
        },
    )


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return _("%(m)s min") % {"m": minutes}


def _chart(name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """A Chart.js configuration for the report (drawn by reports/reports.js)."""
    rows = data.get("rows", [])
    if name == "funnel" and rows:
        return {
            "type": "bar",
            "data": {
                "labels": [r["stage"] for r in rows],
                "datasets": [
                    {
                        "label": _("Reached"),
                        "data": [r["reached"] for r in rows],
                        "backgroundColor": "#0d6efd",
                    },
                    {
                        "label": _("In the stage now"),
                        "data": [r["count"] for r in rows],
                        "backgroundColor": "#adb5bd",
                    },
                ],
            },
        }
    if name == "traffic" and rows:
        return {
            "type": "bar",
            "stacked": True,
            "data": {
                "labels": [
                    f"{label(Channel, r['channel'])} · {label(LeadSource, r['source'])}" for r in rows[:15]
                ],
                "datasets": [
                    {
                        "label": _("Target"),
                        "data": [r["total"] - r["non_target"] for r in rows[:15]],
                        "backgroundColor": "#198754",
                    },
                    {
                        "label": _("Non-target"),
                        "data": [r["non_target"] for r in rows[:15]],
                        "backgroundColor": "#dc3545",
                    },
                ],
            },
        }
    if name == "managers" and rows:
        return {
            "type": "bar",
            "data": {
                "labels": [r["name"] for r in rows],
                "datasets": [
                    {
                        "label": _("Revenue"),
                        "data": [float(r["revenue"]) for r in rows],
                        "backgroundColor": "#198754",
                    },
                    {
                        "label": _("Plan"),
                        "data": [float(r["plan"] or 0) for r in rows],
                        "backgroundColor": "#adb5bd",
                    },
                ],
            },
        }
    if name == "lost-reasons" and rows:
        return {
            "type": "doughnut",
            "data": {
                "labels": [r["reason"] for r in rows],
                "datasets": [{"label": _("Deals"), "data": [r["count"] for r in rows]}],
            },
        }
    return None


def _decorate(name: str, data: dict[str, Any]) -> None:
    """Labels and durations for the screen (the API keeps codes and seconds)."""
    for row in data.get("rows", []):
        if name == "funnel":
            row["time_median_text"] = _duration(row["time_median"])
            row["time_p90_text"] = _duration(row["time_p90"])
        elif name == "traffic":
            row["channel_label"] = label(Channel, row["channel"])
            row["source_label"] = label(LeadSource, row["source"])
            row["reasons"] = [
                (code, label(NonTargetReason, code), n) for code, n in row["non_target_reasons"].items()
            ]
        elif name == "managers":
            row["first_response_median_text"] = _duration(row["first_response_median"])
            row["first_response_p90_text"] = _duration(row["first_response_p90"])
    if name == "sla":
        for row in data.get("longest", []):
            row["late_text"] = _duration(row["late"])
            row["due_at_dt"] = datetime.datetime.fromisoformat(row["due_at"])
            row["answered_at_dt"] = (
                datetime.datetime.fromisoformat(row["answered_at"]) if row["answered_at"] else None
            )


@login_required
def report_page(request: HttpRequest, name: str) -> HttpResponse:
    _require_reports(request)
    if name not in REPORTS:
        raise Http404
    title, selector, _fields = REPORTS[name]
    form = _form(request, name)
    data: dict[str, Any] = {"rows": []}
    filters = None
    if form.is_valid():
        filters = form.filters(default_period=True)
        data = selector(user=request.user, filters=filters)
        _decorate(name, data)
    query = urlencode(filters.query()) if filters else ""
    return render(
        request,
        f"reports/{name.replace('-', '_')}.html",
        {
            "name": name,
            "title": title,
            "filter_form": form,
            "filters": filters,
            "data": data,
            "q": query,
            "chart": _chart(name, data),
            "reports": [(n, spec[0]) for n, spec in REPORTS.items()],
            "reasons": [(code, lbl) for code, lbl in NonTargetReason.choices],
            "checklist_tables": [
                (_("Manager"), data.get("checklist_by_manager", []), "checklist-by-manager"),
                (_("Stage"), data.get("checklist_by_stage", []), "checklist-by-stage"),
            ],
        },
    )


@login_required
def report_export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    _require_reports(request)
    if name not in REPORTS or fmt not in ("csv", "xlsx"):
        raise Http404
    form = _form(request, name)
    if not form.is_valid():
        return redirect(f"{reverse('report_page', args=[name])}?{request.GET.urlencode()}")
    data = REPORTS[name][1](user=request.user, filters=form.filters(default_period=True))
    return export_response(name, data, fmt)


@login_required
def report_drill(request: HttpRequest, metric: str) -> HttpResponse:
    """The records behind one figure: the user's own scope decides which of them are listed."""
    _require_reports(request)
    form = ReportFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        raise Http404
    filters = form.filters(default_period=True, extra=drill_extra(request.GET))
    drill = selectors.drill_down(user=request.user, metric=metric, filters=filters)
    if drill is None:
        raise Http404
    order = {
        "deals": "-created_at",
        "leads": "-created_at",
        "contacts": "full_name",
        "tasks": "due_at",
        "interactions": "-occurred_at",
        "people": "full_name",
    }
    related = {
        "deals": ("stage", "responsible", "contact"),
        "leads": ("contact", "responsible"),
        "contacts": ("company", "responsible"),
        "tasks": ("assignee", "deal", "contact"),
        "interactions": ("contact", "user", "routed_to"),
        "people": ("department",),
    }
    qs = drill.queryset.select_related(*related[drill.kind]).order_by(order[drill.kind], "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    expected = selectors.drill_expected(user=request.user, metric=metric, filters=filters)
    hidden = max(0, expected - page.paginator.count) if expected is not None else 0
    return render(
        request,
        "reports/drill.html",
        {"drill": drill, "page": page, "hidden": hidden, "metric": metric, "filters": filters},
    )


def _plan_month(request: HttpRequest) -> datetime.date:
    today = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    raw = request.POST.get("month") or request.GET.get("month") or ""
    try:
        return datetime.date.fromisoformat(f"{raw}-01" if len(raw) == 7 else raw).replace(day=1)
    except ValueError:
        return today.replace(day=1)


@login_required
def plan_edit(request: HttpRequest) -> HttpResponse:
    """Monthly revenue plans of the department's salespeople, entered by the head of sales."""
    user: Any = request.user
    if not (user.is_admin or user.is_head_of_sales):
        raise PermissionDenied
    month = _plan_month(request)
    people = list(selectors.report_people(user))
    if request.method == "POST":
        errors = []
        for person in people:
            raw = request.POST.get(f"plan-{person.pk}", "").strip()
            if raw == "":
                continue
            try:
                services.plan_set(actor=user, user=person, month=month, amount=raw)
            except ValidationError as exc:
                errors.append(f"{person.get_full_name()}: {' '.join(exc.messages)}")
        if errors:
            for error in errors:
                messages.error(request, error)
        else:
            messages.success(request, _("Plans saved."))
            return redirect(f"{reverse('report_plans')}?month={month:%Y-%m}")
    plans = dict(ManagerPlan.objects.filter(month=month, user__in=people).values_list("user_id", "amount"))
    today = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    return render(
        request,
        "reports/plans.html",
        {
            "month": month,
            "months": month_choices(today),
            "rows": [(p, plans.get(p.pk)) for p in people],
        },
    )


@login_required
@require_POST
def subscription_toggle(request: HttpRequest) -> HttpResponse:
    _require_reports(request)
    frequency = request.POST.get("frequency", "")
    try:
        services.subscription_set(
            actor=request.user, frequency=frequency, active=request.POST.get("active") == "1"
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Subscription saved."))
    return redirect("reports_index")

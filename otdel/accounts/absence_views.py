"""Working-time pages: people's schedules and status now, absences with a backup, the production calendar."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otdel.accounts import services
from otdel.accounts.models import Absence, Role, User
from otdel.accounts.permissions import is_admin, may_manage_routing
from otdel.accounts.views import work_days_text
from otdel.core import services as core_services
from otdel.core.exceptions import ConflictError
from otdel.core.models import CalendarDay
from otdel.core.scoping import scope
from otdel.web.forms import StyledForm
from otdel.web.http import form_save

View = Callable[..., HttpResponse]
SCHEDULE_PAGE = 50


# --- who may see and change whose working time -------------------------------------------------------


def managed_users(actor: Any) -> QuerySet[User]:
    """People whose absences ``actor`` manages (``scope(..., "manage")``)."""
    return scope(User.objects.all(), actor, "manage")


may_manage_schedules = may_manage_routing


def _visible_person(actor: Any, user_id: int) -> tuple[User, bool]:
    """The person whose absences are asked for, and whether ``actor`` may change them; else 404."""
    person = managed_users(actor).filter(pk=user_id).first()
    if person is not None:
        return person, True
    if actor.pk == user_id:
        return actor, False  # one's own absences: visible, changed by the head or an administrator
    raise Http404


def _only_for(test: Callable[[Any], bool]) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not test(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


schedules_required = _only_for(may_manage_schedules)
calendar_required = _only_for(is_admin)


# --- forms ---------------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class BackupChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name()} · {obj.get_role_display()}"


class AbsenceForm(StyledForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Absence.Kind.choices)
    start = forms.DateField(label=gettext_lazy("From"), widget=DateInput())
    end = forms.DateField(label=gettext_lazy("To (inclusive)"), widget=DateInput())
    backup = BackupChoiceField(
        label=gettext_lazy("Backup person"),
        queryset=User.objects.none(),
        required=False,
        help_text=gettext_lazy("Takes the clients of the absent person while they are away."),
    )
    comment = forms.CharField(label=gettext_lazy("Comment"), max_length=255, required=False)

    def __init__(self, *args: Any, absence: Absence | None = None, **kwargs: Any) -> None:
        if absence is not None:
            kwargs.setdefault(
                "initial",
                {name: getattr(absence, name) for name in ("kind", "start", "end", "backup", "comment")},
            )
        super().__init__(*args, **kwargs)
        # The absent person stays on the list: choosing them is refused by the service with a reason.
        self.fields["backup"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(is_active=True)
            .exclude(role=Role.INTEGRATION)
            .order_by("full_name", "username")
        )


class CalendarDayForm(StyledForm):
    date = forms.DateField(label=gettext_lazy("Date"), widget=DateInput())
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CalendarDay.Kind.choices)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, day: CalendarDay | None = None, **kwargs: Any) -> None:
        if day is not None:
            kwargs.setdefault("initial", {"date": day.date, "kind": day.kind, "note": day.note})
        super().__init__(*args, **kwargs)
        if day is not None:
            # Another date is another row: delete this one and add that one.
            self.fields["date"].disabled = True
            self.fields["date"].required = False


# --- schedules -----------------------------------------------------------------------------------------


def _status(user: User, moment: datetime.datetime, absence: Absence | None) -> tuple[str, str]:
    """(code, label) of where the person is at ``moment``: at work, off shift, or absent."""
    if not user.is_active:
        return "inactive", _("Deactivated")
    if absence is not None:
        return "absent", _("Absent until %(date)s") % {"date": date_format(absence.end, "SHORT_DATE_FORMAT")}
    # ``User.works_at`` without its absence query (the absences of the page are read at once).
    if user.on_shift(moment):
        return "at_work", _("At work")
    return "off_shift", _("Off shift")


@schedules_required
def schedule_list(request: HttpRequest) -> HttpResponse:
    people = (
        managed_users(request.user)
        .select_related("department")
        .order_by("-is_active", "full_name", "username")
    )
    page = Paginator(people, SCHEDULE_PAGE).get_page(request.GET.get("page"))
    now = timezone.localtime()
    today = now.date()
    users = list(page.object_list)
    current: dict[int, Absence] = {}
    for absence in (
        Absence.objects.filter(user__in=users, start__lte=today, end__gte=today)
        .select_related("backup")
        .order_by("start")
    ):
        current.setdefault(absence.user_id, absence)
    upcoming: dict[int, Absence] = {}
    for absence in (
        Absence.objects.filter(user__in=users, start__gt=today).select_related("backup").order_by("start")
    ):
        upcoming.setdefault(absence.user_id, absence)
    rows = []
    for user in users:
        code, label = _status(user, now, current.get(user.pk))
        rows.append(
            {
                "user": user,
                "days": work_days_text(user.work_days),
                "status": code,
                "status_label": label,
                "absence": current.get(user.pk),
                "upcoming": upcoming.get(user.pk),
            }
        )
    return render(
        request,
        "routing/schedule_list.html",
        {"page": page, "rows": rows, "now": now, "routing_tab": "schedules"},
    )


# --- absences ------------------------------------------------------------------------------------------


@login_required
def absence_list(request: HttpRequest, user_id: int) -> HttpResponse:
    person, may_change = _visible_person(request.user, user_id)
    absences = Absence.objects.filter(user=person).select_related("backup").order_by("-start")
    page = Paginator(absences, SCHEDULE_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    return render(
        request,
        "accounts/absence_list.html",
        {
            "person": person,
            "page": page,
            "may_change": may_change,
            "today": today,
            "covering": Absence.objects.filter(backup=person, end__gte=today)
            .select_related("user")
            .order_by("start"),
            "routing_tab": "schedules",
        },
    )


@login_required
def absence_create(request: HttpRequest, user_id: int) -> HttpResponse:
    person, may_change = _visible_person(request.user, user_id)
    if not may_change:
        raise Http404
    form = AbsenceForm(request.POST or None)
    if (
        request.method == "POST"
        and form_save(
            form, lambda: services.absence_create(actor=request.user, user=person, **form.cleaned_data)
        )
        is not None
    ):
        messages.success(request, _("Absence of %(name)s saved.") % {"name": person})
        return redirect("absence_list", user_id=person.pk)
    return render(
        request,
        "accounts/absence_form.html",
        {"form": form, "person": person, "absence": None, "routing_tab": "schedules"},
    )


def _managed_absence(request: HttpRequest, pk: int) -> Absence:
    absence = get_object_or_404(Absence.objects.select_related("user", "backup"), pk=pk)
    if not managed_users(request.user).filter(pk=absence.user_id).exists():
        raise Http404
    return absence


@login_required
def absence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    absence = _managed_absence(request, pk)
    form = AbsenceForm(request.POST or None, absence=absence)
    if (
        request.method == "POST"
        and form_save(
            form,
            lambda: services.absence_update(actor=request.user, absence=absence, **form.cleaned_data),
        )
        is not None
    ):
        messages.success(request, _("Absence of %(name)s saved.") % {"name": absence.user})
        return redirect("absence_list", user_id=absence.user_id)
    return render(
        request,
        "accounts/absence_form.html",
        {"form": form, "person": absence.user, "absence": absence, "routing_tab": "schedules"},
    )


@login_required
def absence_delete(request: HttpRequest, pk: int) -> HttpResponse:
    absence = _managed_absence(request, pk)
    if request.method != "POST":
        return redirect("absence_list", user_id=absence.user_id)
    person_id = absence.user_id
    services.absence_delete(actor=request.user, absence=absence)
    messages.success(request, _("Absence deleted."))
    return redirect("absence_list", user_id=person_id)


# --- the production calendar ---------------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or 0)
    except ValueError:
        year = 0
    return year if 2000 <= year <= 2100 else timezone.localdate().year


def _calendar_context(request: HttpRequest, year: int, form: CalendarDayForm) -> dict[str, Any]:
    days = CalendarDay.objects.filter(date__year=year).order_by("date")
    counts = dict(days.values_list("kind").annotate(n=Count("id")).order_by())
    return {
        "year": year,
        "days": days,
        "counts": {kind: counts.get(kind, 0) for kind in CalendarDay.Kind.values},
        "form": form,
        "kinds": CalendarDay.Kind,
        "routing_tab": "calendar",
    }


@calendar_required
def calendar(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            day = core_services.calendar_day_set(
                actor=request.user, date=data["date"], kind=data["kind"], note=data["note"]
            )
        except (ValidationError, ConflictError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("%(day)s saved.") % {"day": day})
            return redirect(f"{request.path}?year={day.date.year}")
    return render(request, "routing/calendar.html", _calendar_context(request, year, form))


@calendar_required
def calendar_day_edit(request: HttpRequest, pk: int) -> HttpResponse:
    day = get_object_or_404(CalendarDay, pk=pk)
    form = CalendarDayForm(request.POST or None, day=day)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            day = core_services.calendar_day_set(
                actor=request.user, date=day.date, kind=data["kind"], note=data["note"]
            )
        except (ValidationError, ConflictError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("%(day)s saved.") % {"day": day})
            return redirect(f"{_calendar_url()}?year={day.date.year}")
    return render(
        request, "routing/calendar_day_form.html", {"form": form, "day": day, "routing_tab": "calendar"}
    )


@calendar_required
def calendar_day_delete(request: HttpRequest, pk: int) -> HttpResponse:
    day = get_object_or_404(CalendarDay, pk=pk)
    year = day.date.year
    if request.method == "POST":
        core_services.calendar_day_delete(actor=request.user, day=day)
        messages.success(request, _("The day is an ordinary one again."))
    return redirect(f"{_calendar_url()}?year={year}")


def _calendar_url() -> str:
    from django.urls import reverse

    return reverse("production_calendar")

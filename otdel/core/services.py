"""Writes to core reference data: the production calendar (holidays, working weekends, short days)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from otdel.core.changelog import record_change
from otdel.core.exceptions import field_error
from otdel.core.models import CalendarDay, ObjectChange


@transaction.atomic
def calendar_day_set(*, actor: Any, date: datetime.date, kind: str, note: str = "") -> CalendarDay:
    """Make ``date`` a holiday, a working (weekend) day or a shortened day; replaces what was set."""
    if kind not in CalendarDay.Kind.values:
        raise field_error("kind", _("Choose a day off, a working day or a shortened day."), "invalid_kind")
    if kind == CalendarDay.Kind.WORKING and date.weekday() < 5:
        # Only a weekend can be "made working"; a weekday already is one, so the row would do nothing.
        raise field_error(
            "kind",
            _(
                "%(date)s is a weekday and a working day anyway; only a Saturday or Sunday can be made working."
            )
            % {"date": date_format(date, "SHORT_DATE_FORMAT")},
            "weekday_working",
        )
    note = (note or "").strip()
    day = CalendarDay.objects.filter(date=date).first()
    if day is None:
        day = CalendarDay(date=date, kind=kind, note=note)
        day.full_clean()
        day.save()
        record_change(
            day, ObjectChange.Action.CREATE, changes={"date": date, "kind": kind, "note": note}, user=actor
        )
        return day
    diff = {
        name: [getattr(day, name), value]
        for name, value in (("kind", kind), ("note", note))
        if getattr(day, name) != value
    }
    if diff:
        day.kind, day.note = kind, note
        day.full_clean()
        day.save()
        record_change(day, ObjectChange.Action.UPDATE, changes=diff, user=actor)
    return day


@transaction.atomic
def calendar_day_delete(*, actor: Any, day: CalendarDay) -> None:
    """Back to an ordinary day (Monday to Friday working, weekends off)."""
    record_change(
        day,
        ObjectChange.Action.DELETE,
        changes={"date": day.date, "kind": day.kind, "note": day.note},
        user=actor,
    )
    day.delete()

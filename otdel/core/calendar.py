"""Working time by the production calendar: holidays, working weekends, shortened pre-holiday days."""

from __future__ import annotations

import datetime
from functools import lru_cache

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from otdel.core.models import CalendarDay


@lru_cache(maxsize=8)
def _year(year: int) -> dict[datetime.date, str]:
    return dict(CalendarDay.objects.filter(date__year=year).values_list("date", "kind"))


@receiver([post_save, post_delete], sender=CalendarDay)
def _forget(**kwargs: object) -> None:
    _year.cache_clear()


def day_kind(day: datetime.date) -> str:
    """``holiday``, ``working``, ``short`` or ``weekend``/``weekday`` when the calendar says nothing."""
    kind = _year(day.year).get(day)
    if kind:
        return kind
    return "weekend" if day.weekday() >= 5 else "weekday"


def is_working_day(day: datetime.date, work_days: list[int] | None = None) -> bool:
    """For a person working ``work_days`` (Monday=0), whether ``day`` is a working day for them."""
    kind = day_kind(day)
    if kind == CalendarDay.Kind.HOLIDAY:
        return False
    if kind in (CalendarDay.Kind.WORKING, CalendarDay.Kind.SHORT) and day.weekday() >= 5:
        return True  # a Saturday made working by a government transfer
    return day.weekday() in (work_days if work_days is not None else [0, 1, 2, 3, 4])


def is_short_day(day: datetime.date) -> bool:
    return day_kind(day) == CalendarDay.Kind.SHORT


def next_working_start(
    moment: datetime.datetime, work_days: list[int], start: datetime.time
) -> datetime.datetime:
    """The first working-day start at or after ``moment`` (aware, local time)."""
    day = moment.date()
    for _ in range(40):
        candidate = moment.replace(
            year=day.year,
            month=day.month,
            day=day.day,
            hour=start.hour,
            minute=start.minute,
            second=0,
            microsecond=0,
        )
        if is_working_day(day, work_days) and candidate >= moment:
            return candidate
        day += datetime.timedelta(days=1)
    return moment

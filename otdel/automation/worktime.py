"""Delays and deadlines counted on working time, by the production calendar (otdel/core/calendar.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from otdel.core.calendar import is_short_day, is_working_day

DAY_START = datetime.time(9, 0)
DAY_END = datetime.time(18, 0)


def _day_window(
    day: datetime.date, tz: datetime.tzinfo, start: datetime.time, end: datetime.time
) -> tuple[datetime.datetime, datetime.datetime]:
    opens = timezone.make_aware(datetime.datetime.combine(day, start), tz)
    closes = timezone.make_aware(datetime.datetime.combine(day, end), tz)
    if is_short_day(day):
        closes -= datetime.timedelta(hours=1)  # a pre-holiday day is an hour shorter
    return opens, closes


def add_minutes(
    moment: datetime.datetime,
    minutes: int,
    *,
    working_time: bool,
    work_days: list[int] | None = None,
    start: datetime.time = DAY_START,
    end: datetime.time = DAY_END,
    absent: frozenset[datetime.date] | set[datetime.date] = frozenset(),
) -> datetime.datetime:
    """``moment`` plus ``minutes``; on working time only the minutes inside working hours of working
    days count (weekends, holidays and nights are skipped; a working Saturday counts; so are the
    ``absent`` days of a person's vacation or sick leave)."""
    if not working_time:
        return moment + datetime.timedelta(minutes=minutes)
    tz = timezone.get_current_timezone()
    local = timezone.localtime(moment, tz)
    left = datetime.timedelta(minutes=minutes)
    day = local.date()
    for _ in range(3700):  # ten years of days at most
        if is_working_day(day, work_days) and day not in absent:
            opens, closes = _day_window(day, tz, start, end)
            begin = max(local, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left if left or begin == local else begin
                left -= closes - begin
        day += datetime.timedelta(days=1)
    return moment + datetime.timedelta(minutes=minutes)


def working_minutes_between(
    since: datetime.datetime,
    until: datetime.datetime,
    *,
    working_time: bool,
    work_days: list[int] | None = None,
    start: datetime.time = DAY_START,
    end: datetime.time = DAY_END,
    absent: frozenset[datetime.date] | set[datetime.date] = frozenset(),
) -> float:
    """Minutes from ``since`` to ``until`` (on working time: only those in working hours)."""
    if until <= since:
        return 0.0
    if not working_time:
        return (until - since).total_seconds() / 60
    tz = timezone.get_current_timezone()
    a, b = timezone.localtime(since, tz), timezone.localtime(until, tz)
    total = datetime.timedelta()
    day = a.date()
    while day <= b.date():
        if is_working_day(day, work_days) and day not in absent:
            opens, closes = _day_window(day, tz, start, end)
            lo, hi = max(a, opens), min(b, closes)
            if hi > lo:
                total += hi - lo
        day += datetime.timedelta(days=1)
    return total.total_seconds() / 60


def hours_of(person: Any, *, since: datetime.date | None = None) -> dict[str, Any]:
    """A person's own working time as keyword arguments of ``add_minutes``: their working days and
    hours, and the days of their absences from ``since`` on (a clock on their time stops then)."""
    if person is None:
        return {}
    since = since or timezone.localdate()
    absent: set[datetime.date] = set()
    for first, last in person.absences.filter(end__gte=since).values_list("start", "end"):
        day = max(first, since)
        while day <= last and len(absent) < 3700:
            absent.add(day)
            day += datetime.timedelta(days=1)
    return {
        "work_days": list(person.work_days or []) or None,
        "start": person.work_start,
        "end": person.work_end,
        "absent": frozenset(absent),
    }

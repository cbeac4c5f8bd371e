"""Issuing document numbers: unique and consecutive per sequence and period, whatever the concurrency.

The counter row is bumped by one ``UPDATE ... SET last = last + 1`` inside the caller's transaction:
PostgreSQL holds the row lock until commit, SQLite (BEGIN IMMEDIATE) the database write lock, so a
second issuer waits and then sees the first one's number. A rolled-back transaction gives its number
back, so numbers are only spent by documents that exist.
"""

from __future__ import annotations

import datetime
import re

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from otdel.core.exceptions import field_error
from otdel.documents.models import NumberingCounter, NumberingSequence

_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|N(?::0?(\d{1,2}))?)\}")


def pattern_error(pattern: str) -> str | None:
    if "{N" not in pattern or not any(m.group(1).startswith("N") for m in _TOKEN.finditer(pattern)):
        return _("The pattern needs the counter: {N} or e.g. {N:04}.")
    leftover = _TOKEN.sub("", pattern)
    if "{" in leftover or "}" in leftover:
        return _("Unknown placeholder; use {YYYY}, {YY}, {MM}, {DD}, {N} or {N:04}.")
    return None


def format_number(pattern: str, *, counter: int, date: datetime.date) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token == "YYYY":
            return f"{date.year:04d}"
        if token == "YY":
            return f"{date.year % 100:02d}"
        if token == "MM":
            return f"{date.month:02d}"
        if token == "DD":
            return f"{date.day:02d}"
        width = int(match.group(2) or 0)
        return f"{counter:0{width}d}"

    return _TOKEN.sub(replace, pattern)


def number_issue(*, sequence: NumberingSequence, date: datetime.date) -> str:
    """The next number of ``sequence`` for ``date``; call inside the transaction that stores it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_issue must run inside the transaction that keeps the number")
    period = date.year if sequence.reset == NumberingSequence.Reset.YEARLY else 0
    NumberingCounter.objects.bulk_create(
        [NumberingCounter(sequence=sequence, period=period, last=0)], ignore_conflicts=True
    )
    counters = NumberingCounter.objects.filter(sequence=sequence, period=period)
    if counters.update(last=F("last") + 1) != 1:
        raise field_error("numbering", _("The numbering counter could not be taken."), "numbering")
    last = counters.values_list("last", flat=True).get()
    return format_number(sequence.pattern, counter=last, date=date)

"""Building report data at chosen moments (the change log stamps rows with the current time)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from unittest import mock
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")


def msk(day: int, hour: int = 10, minute: int = 0, month: int = 11, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=MSK)


@contextlib.contextmanager
def at(moment: datetime.datetime) -> Iterator[None]:
    """Everything saved inside happens at ``moment`` (auto_now, the change log, closed_at)."""
    with mock.patch("django.utils.timezone.now", return_value=moment.astimezone(datetime.UTC)):
        yield

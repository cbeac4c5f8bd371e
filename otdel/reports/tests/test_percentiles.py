"""Percentiles in SQL (percentile_cont on PostgreSQL, a window on SQLite) = the Python reference."""

import datetime
import random

import pytest
from django.db import connection
from django.utils import timezone

from otdel.reports.selectors import percentile, percentiles_sql, seconds_between_sql

pytestmark = pytest.mark.django_db


def test_percentiles_in_sql_equal_linear_interpolation_between_ranks():
    rng = random.Random(7)
    groups = {1: [rng.randrange(0, 10**6) for _ in range(37)], 2: [5], 3: [10, 20], 4: [3, 3, 3, 9]}
    rows = [(g, v) for g, values in groups.items() for v in values]
    rng.shuffle(rows)
    values_sql = ", ".join(["(%s, %s)"] * len(rows))
    sql = f"SELECT column1 AS g, column2 AS v FROM (VALUES {values_sql}) x"
    found = percentiles_sql(sql, [x for row in rows for x in row], (0.5, 0.9, 0.25))
    assert found == {g: [percentile(values, f) for f in (0.5, 0.9, 0.25)] for g, values in groups.items()}
    assert found[3] == [15, 19, 12]  # 10 + 10 * 0.5, * 0.9, * 0.25 (rounded)


def test_seconds_between_in_sql_are_whole_seconds_as_python_counts_them():
    start = timezone.now().replace(microsecond=700_000)
    cast = "%s::timestamptz" if connection.vendor == "postgresql" else "%s"
    for delta in (
        datetime.timedelta(seconds=59, microseconds=400_000),  # 59.4 s -> 59
        datetime.timedelta(seconds=60),
        datetime.timedelta(days=3, seconds=5, microseconds=300_000),
        datetime.timedelta(0),
    ):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {seconds_between_sql('t.b', 't.a')} FROM (SELECT {cast} AS a, {cast} AS b) t",
                [start, start + delta],
            )
            assert cursor.fetchone()[0] == int(delta.total_seconds())

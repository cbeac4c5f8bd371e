"""Custom-field filter benchmark: a deal list filtered by one custom field, with the field's index and
without it (the index dropped for the second half of the run), plus the planner's choice.

Makes ``--deals`` deals (default 100,000; once: kept when the database already holds that many)
with three custom fields (a list, a number, a date), then times ``custom_filter`` + the first page
(50 rows, newest first) for an equality, a number range and a date range, in alternating rounds,
with the index and then with it dropped. Prints p50 per query both ways, the ratio, and whether
the planner uses the index for the list's query (ordered newest first: SQLite may prefer to walk
the created_at index for a range and test each row).

    OTDEL_DATA_DIR=bench/data/cf .venv/bin/python bench/custom_fields.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/otdel_bench_cf .venv/bin/python bench/custom_fields.py
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import database_label, django_setup, machine_label

REGIONS = ["Москва", "Казань", "Самара", "Пермь", "Уфа", "Омск", "Тула", "Чита"] + [
    f"Город {n}" for n in range(92)
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    django_setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from otdel.crm import services
    from otdel.crm.custom import custom_filter, index_create, index_drop, index_name
    from otdel.crm.models import CustomField, Deal, Pipeline, Stage

    call_command("migrate", verbosity=0)
    fields = {}
    for code, kind, options in (("region", "list", REGIONS), ("qty", "number", []), ("due", "date", [])):
        field = CustomField.objects.filter(entity="deal", code=code).first()
        fields[code] = field or services.custom_field_create(
            actor=None, entity="deal", code=code, name=code, type=kind, options=options
        )
    pipeline = Pipeline.objects.first() or services.pipeline_create(
        actor=None, name="Bench", stages=[{"name": "Новая"}, {"name": "Успешно", "kind": "won"}]
    )
    stage = Stage.objects.filter(pipeline=pipeline, kind="open").first()
    have = Deal.objects.count()
    rng = random.Random(7)
    start = datetime.date(2026, 1, 1)
    while have < args.deals:
        batch = [
            Deal(
                title=f"Сделка {have + n}",
                pipeline=pipeline,
                stage=stage,
                position=float(have + n),
                custom={
                    "region": rng.choice(REGIONS),
                    "qty": rng.randint(1, 100_000),
                    "due": (start + datetime.timedelta(days=rng.randint(0, 720))).isoformat(),
                },
            )
            for n in range(min(5000, args.deals - have))
        ]
        with transaction.atomic():
            Deal.objects.bulk_create(batch)
        have += len(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "ANALYZE crm_deal")

    queries = {
        "region = Казань (1%)": {"custom__region": "Казань"},
        "qty >= 99900 (0.1%)": {"custom__qty__gte": "99900"},
        "due in one week": {"custom__due__gte": "2026-06-01", "custom__due__lte": "2026-06-07"},
    }
    field_of = {"region = Казань (1%)": "region", "qty >= 99900 (0.1%)": "qty", "due in one week": "due"}

    def page(params: dict[str, str]) -> list[int]:
        qs = custom_filter(Deal.objects.all(), params).order_by("-created_at", "-id")
        return list(qs.values_list("id", flat=True)[:50])

    def run() -> dict[str, float]:
        times: dict[str, list[float]] = {name: [] for name in queries}
        for _ in range(args.rounds):
            for name, params in queries.items():
                began = time.perf_counter()
                page(params)
                times[name].append((time.perf_counter() - began) * 1000)
        return {name: statistics.median(values) for name, values in times.items()}

    plans = {
        name: index_name(fields[field_of[name]])
        in custom_filter(Deal.objects.all(), q).order_by("-created_at", "-id").explain()
        for name, q in queries.items()
    }
    with_index = run()
    for field in fields.values():
        index_drop(field)
    try:
        without = run()
    finally:
        for field in fields.values():
            index_create(field)
    print(f"custom-field filter, {have:,} deals, {database_label()}, {machine_label()}")
    print(f"{'query':28} {'index used':>10} {'p50 indexed':>12} {'p50 no index':>13} {'ratio':>7}")
    for name in queries:
        ratio = without[name] / with_index[name] if with_index[name] else float("inf")
        print(
            f"{name:28} {plans[name]!s:>10} {with_index[name]:>10.2f}ms {without[name]:>11.2f}ms {ratio:>6.1f}x"
        )


if __name__ == "__main__":
    main()

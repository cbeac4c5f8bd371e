"""What automation adds to the request that causes an event: ``POST /api/v1/deals`` (emits
``deal.created``) with N active rules listening, against the same request with those rules switched
off (automation idle: nothing listens), in the same run, rounds interleaved.

Rules are evaluated in the worker, not in the request: with rules on, the request checks the
in-memory set of listened events and writes one outbox row in its own transaction (and queues a
drain at most once a second); with them off it only checks the set. No worker runs during the measurement, so only the request is timed.
Prints p50 / p99 of each side, the p99 difference in milliseconds (target <= 2 ms) and the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_automation .venv/bin/python bench/automation_request.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=100, help="per round and side")
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from otdel.accounts.models import Role, User
    from otdel.accounts.services import user_token_issue
    from otdel.automation.models import EventOutbox, Rule
    from otdel.crm.models import Pipeline

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    head, _ = User.objects.get_or_create(username="bench-head", defaults={"role": Role.HEAD_OF_SALES})
    token = user_token_issue(user=head)
    pipeline = Pipeline.objects.filter(is_active=True).first()
    if pipeline is None:
        from otdel.crm.services import pipeline_create

        pipeline = pipeline_create(
            actor=None,
            name="Bench",
            stages=[{"name": "New", "kind": "open"}, {"name": "Won", "kind": "won"}],
        )
    Rule.objects.filter(name__startswith="bench ").delete()
    EventOutbox.objects.all().delete()
    Rule.objects.bulk_create(
        Rule(
            name=f"bench {n}",
            event="deal.created",
            trigger={"event": "deal.created"},
            conditions=[{"field": "amount", "op": "gte", "value": str(n * 1000)}],
            actions=[{"action": "task", "title": f"bench {n}"}],
            is_active=False,
        )
        for n in range(args.rules)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = {"title": "bench", "pipeline": pipeline.pk, "amount": "150000", "responsible": head.pk}

    def rules_on(on: bool) -> None:
        for rule in Rule.objects.filter(name__startswith="bench "):
            rule.is_active = on
            rule.save(update_fields=["is_active"])  # post_save clears the listened-events cache

    cpu: dict[bool, list[float]] = {True: [], False: []}

    def measure(n: int, side: bool | None = None) -> list[float]:
        times = []
        for _ in range(n):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.post("/api/v1/deals", body, format="json")
            times.append((time.perf_counter() - start) * 1000)
            if side is not None:
                cpu[side].append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 201, response.content[:500]
        return times

    measure(20)  # warm-up
    on: list[float] = []
    off: list[float] = []
    for n in range(args.rounds):
        for side in (True, False) if n % 2 == 0 else (False, True):
            rules_on(side)
            (on if side else off).extend(measure(args.requests, side))
    rules_on(False)
    from django.db import connection, transaction

    # The raw price of what the request gains: one row of the task queue, inserted in a transaction
    # that commits anyway (timed without the commit), in the same run.
    raw: list[float] = []
    table = EventOutbox._meta.db_table
    sql = (
        f"INSERT INTO {table} (event, payload, subject_type, subject_id, occurrence, created_at)"
        " VALUES (%s, %s, %s, %s, %s, now())"
    )
    with connection.cursor() as cursor:
        for _ in range(args.rounds * args.requests):
            with transaction.atomic():
                start = time.perf_counter()
                cursor.execute(sql, ["deal.created", '{"deal_id": 1}', "deal", 1, uuid.uuid4().hex])
                raw.append((time.perf_counter() - start) * 1000)
                transaction.set_rollback(True)

    enqueued = EventOutbox.objects.count()
    print(
        f"{args.rules} rules listening to deal.created; {len(on)} requests per side; {enqueued} matches enqueued"
    )
    for name, values in (("automation off", off), (f"{args.rules} rules on", on)):
        print(
            f"{name:>16}: p50 {statistics.median(values):.2f} ms  p99 {percentile(values, 0.99):.2f} ms  "
            f"mean {statistics.fmean(values):.2f} ms"
        )
    p50_diff = statistics.median(on) - statistics.median(off)
    p99_diff = percentile(on, 0.99) - percentile(off, 0.99)
    print(f"added: p50 {p50_diff:+.2f} ms, p99 {p99_diff:+.2f} ms (target <= 2 ms)")
    print(f"ratio on/off: p50 {statistics.median(on) / statistics.median(off):.3f}")
    cpu_on, cpu_off = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(
        f"CPU time of the request in this process: p50 off {cpu_off:.2f} ms, on {cpu_on:.2f} ms, "
        f"added {cpu_on - cpu_off:+.2f} ms (ratio {cpu_on / cpu_off:.3f})"
    )
    raw_p50 = statistics.median(raw)
    print(
        f"raw outbox-row INSERT in a transaction: p50 {raw_p50:.2f} ms p99 {percentile(raw, 0.99):.2f} ms; "
        f"automation adds {p50_diff / raw_p50:.1f}x that at p50"
    )
    Rule.objects.filter(name__startswith="bench ").delete()
    EventOutbox.objects.all().delete()


if __name__ == "__main__":
    main()

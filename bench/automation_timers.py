"""SLA timers: N clocks due within one minute, drained by 2 workers; against a raw claim loop.

Both sides work on the same table and the same rows (recreated between rounds):
  raw   - two threads, each a loop of ``SELECT id ... ORDER BY check_at LIMIT 1 FOR UPDATE SKIP
          LOCKED`` + ``UPDATE ... SET state='breached'`` + commit (what the database alone costs);
  otdel - two threads running ``otdel.automation.sla.timers_drain()`` (the ORM claim, the breach,
          the policy's actions - none here - and the ``sla.breached`` event handed to the task queue).
Prints throughput of each, the ratio otdel/raw (target >= 0.3), that every clock fired exactly once,
and the lateness after due time (p50 / p99) of the otdel run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_automation .venv/bin/python bench/automation_timers.py
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timers", type=int, default=10_000)
    args = parser.parse_args()
    django_setup()
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from otdel.automation import sla
    from otdel.automation.models import SlaPolicy, SlaTimer

    call_command("migrate", verbosity=0)
    policy, _ = SlaPolicy.objects.get_or_create(
        name="bench", defaults={"target": "first_response", "minutes": 1, "warn_at_percent": 0}
    )

    def reset() -> datetime.datetime:
        SlaTimer.objects.filter(policy=policy).delete()
        now = timezone.now()
        SlaTimer.objects.bulk_create(
            SlaTimer(
                policy=policy,
                key=f"bench:{n}",
                started_at=now - datetime.timedelta(minutes=1),
                due_at=now - datetime.timedelta(seconds=60 * n / args.timers),
                check_at=now - datetime.timedelta(seconds=60 * n / args.timers),
            )
            for n in range(args.timers)
        )
        return now

    def two(work) -> float:
        started = time.perf_counter()
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started

    def raw_worker() -> None:
        try:
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id FROM automation_slatimer WHERE check_at <= %s AND state IN ('running', 'warned')"
                        " ORDER BY check_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                        [timezone.now()],
                    )
                    row = cursor.fetchone()
                    if row is None:
                        return
                    cursor.execute(
                        "UPDATE automation_slatimer SET state='breached', breached_at=%s, check_at=NULL WHERE id=%s",
                        [timezone.now(), row[0]],
                    )
        finally:
            connections.close_all()

    def otdel_worker() -> None:
        try:
            sla.timers_drain(limit=10**9)
        finally:
            connections.close_all()

    reset()
    raw_seconds = two(raw_worker)
    raw_fired = SlaTimer.objects.filter(policy=policy, state="breached").count()
    reset()
    otdel_seconds = two(otdel_worker)
    rows = list(SlaTimer.objects.filter(policy=policy).values_list("state", "breached_at", "due_at"))
    fired = sum(1 for state, _at, _due in rows if state == "breached")
    late = sorted((at - due).total_seconds() for state, at, due in rows if state == "breached")
    print(f"database: {connection.vendor}, timers: {args.timers}, workers: 2")
    print(f"raw   : {raw_fired} fired in {raw_seconds:.2f} s = {raw_fired / raw_seconds:.0f}/s")
    print(
        f"otdel : {fired} fired in {otdel_seconds:.2f} s = {fired / otdel_seconds:.0f}/s (each once: {fired == args.timers})"
    )
    print(
        f"ratio otdel/raw throughput: {(fired / otdel_seconds) / (raw_fired / raw_seconds):.2f} (target >= 0.3)"
    )
    if late:
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        print(f"lateness after due: p50 {statistics.median(late):.2f} s, p99 {p99:.2f} s")
    SlaTimer.objects.filter(policy=policy).delete()


if __name__ == "__main__":
    main()

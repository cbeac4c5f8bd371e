"""Call-event intake benchmark: POST /api/v1/telephony/events vs. a raw single-row INSERT, same run.

8 wrk clients replay realistic call-event sequences (ringing -> answered -> ended, missed
calls, ~10% of events delivered twice) over keep-alive connections to gunicorn with 2 workers.
The endpoint is measured as shipped: it authenticates the token, validates the event, stores it
in the intake log (the log is the work queue: a received row, no task row per event) and answers
202. The raw baseline commits one INSERT of the body per request behind a minimal WSGI app.
Afterwards the same requests go through Otdel's WSGI app in-process (no network, no contention)
to print the CPU and the SQL statements one request costs.

Then the first ``--process`` stored events are processed by the drain tasks the endpoint queued,
run by ``manage.py db_worker --batch`` (2 workers); the rest of the events are dropped first
(bench data only). The processing rate is printed separately, with a dedupe check: one timeline
row per call id.

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/intake.py [--duration 10] [--process 3000]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    PYTHON,
    ROOT,
    Target,
    compare,
    database_label,
    django_setup,
    free_port,
    generated_contacts,
    in_process,
    line,
    load,
    machine_label,
    otdel_env,
    start_gunicorn,
    stop,
)
from bench.generate import phone_number, typed

URL = "/api/v1/telephony/events"


def call_events(
    run: str, client: int, n_contacts: int, rng: random.Random, count: int
) -> list[dict[str, Any]]:
    """``count`` events of whole calls as a PBX sends them; some delivered twice."""
    events: list[dict[str, Any]] = []
    started = datetime.datetime.now(datetime.UTC)
    k = 0
    while len(events) < count:
        call_id = f"{run}-{client}-{k}"
        known = rng.random() < 0.6
        number = (
            phone_number(rng.randrange(n_contacts))
            if known
            else phone_number(n_contacts + rng.randrange(10**8))
        )
        at = started + datetime.timedelta(seconds=k * 90)
        base = {"call_id": call_id, "direction": "in", "caller": typed(number, rng), "called": "+74951234567"}
        sequence = [{**base, "event": "ringing", "at": at.isoformat()}]
        if rng.random() < 0.7:
            answered = at + datetime.timedelta(seconds=rng.randrange(3, 20))
            duration = rng.randrange(20, 600)
            sequence.append(
                {
                    **base,
                    "event": "answered",
                    "extension": str(301 + rng.randrange(19)),
                    "at": answered.isoformat(),
                }
            )
            sequence.append(
                {
                    **base,
                    "event": "ended",
                    "status": "answered",
                    "duration": duration,
                    "at": (answered + datetime.timedelta(seconds=duration)).isoformat(),
                }
            )
        else:
            ended = at + datetime.timedelta(seconds=rng.randrange(10, 40))
            sequence.append({**base, "event": "ended", "status": "missed", "at": ended.isoformat()})
        for event in sequence:
            events.append(event)
            if rng.random() < 0.1:  # PBXs retry on a slow answer: the same event again
                events.append(dict(event))
        k += 1
    return events


def drain(workers: int, since_id: int) -> dict[str, float]:
    """Run ``db_worker --batch`` processes until no task is due; rates from the rows they processed."""
    from django.db.models import Max, Min

    from otdel.comms.intake import DRAIN_DELAY
    from otdel.comms.models import IntakeLog

    time.sleep(DRAIN_DELAY + 0.5)  # the last drain the endpoint queued is due by now
    procs = [
        subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--worker-id",
                f"bench-{k}-{uuid.uuid4().hex[:6]}",
                "-v",
                "0",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        for k in range(workers)
    ]
    for proc in procs:
        proc.wait()
    ours = IntakeLog.objects.filter(pk__gt=since_id)
    done = ours.filter(status__in=[IntakeLog.Status.PROCESSED, IntakeLog.Status.FAILED])
    span = done.aggregate(first=Min("updated_at"), last=Max("updated_at"))
    count = done.count()
    seconds = (span["last"] - span["first"]).total_seconds() if count > 1 else 0.0
    return {
        "events": count,
        "failed": done.filter(status=IntakeLog.Status.FAILED).count(),
        "left": ours.filter(status=IntakeLog.Status.RECEIVED).count(),
        "seconds": seconds,
        "per_second": (count - 1) / seconds if seconds else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds of load for each side")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternate raw and Otdel this many times (duration split)"
    )
    parser.add_argument("--process", type=int, default=3000, help="events to process afterwards (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes for processing")
    parser.add_argument("--otdel-settings", default=None, help="settings module for the Otdel server")
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Max
    from django_tasks_db.models import DBTaskResult

    from bench.raw_intake_app import TABLE, create_table
    from otdel.comms.models import IntakeLog, Interaction
    from otdel.comms.tasks import intake_drain

    n = generated_contacts()
    if not n:
        raise SystemExit("No data: run bench/generate.py first.")
    from otdel.accounts.models import User
    from otdel.accounts.services import user_token_issue

    token = user_token_issue(user=User.objects.get(username="bench-pbx"))
    with connection.cursor() as cursor:
        create_table(cursor, connection.vendor)
    received = IntakeLog.objects.filter(status=IntakeLog.Status.RECEIVED)
    backlog = received.count()
    since_id = IntakeLog.objects.aggregate(last=Max("id"))["last"] or 0
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    per_round = max(3000, 20_000 // args.rounds)
    per_client = [
        [call_events(f"{run}r{r}", k, n, rng, per_round) for r in range(args.rounds)]
        for k in range(args.clients)
    ]

    db = settings.DATABASES["default"]
    env = {"BENCH_SQLITE": str(db["NAME"])} if db["ENGINE"].endswith("sqlite3") else {}
    raw_port, otdel_port = free_port(), free_port()
    raw = start_gunicorn("bench.raw_intake_app:application", raw_port, env=env)
    otdel = start_gunicorn("otdel.wsgi:application", otdel_port, env=otdel_env(args.otdel_settings))
    print(f"call-event intake: {n} contacts, {database_label()}, {machine_label()}")
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    try:
        sides = {
            "raw": Target(raw_port, "/events", method="POST", headers=headers),
            "otdel": Target(otdel_port, URL, method="POST", headers=headers),
        }
        warm = [
            [dict(e, call_id=f"warm-{e['call_id']}") for e in events[0][:30]] for events in per_client[:2]
        ]
        for target in sides.values():
            load(dataclasses.replace(target, per_client=warm), clients=2, seconds=2)

        def round_of(side: str, r: int) -> Target:  # every round sends calls of its own
            return dataclasses.replace(sides[side], per_client=[events[r] for events in per_client])

        stats = compare(
            sides, rounds=args.rounds, seconds=args.duration, clients=args.clients, rounds_of=round_of
        )
        raw_stats, otdel_stats = stats["raw"], stats["otdel"]
    finally:
        stop(raw, otdel)
    stored = IntakeLog.objects.filter(pk__gt=since_id).count()
    drains = DBTaskResult.objects.filter(task_path=intake_drain.module_path, status="READY")
    drains_queued = drains.count()
    in_process_events = [dict(e, call_id=f"inproc-{e['call_id']}") for e in per_client[0][0][:1000]]
    cost = in_process(
        [(URL, json.dumps(event).encode()) for event in in_process_events],
        method="POST",
        token=token,
        expect=202,
        counted=200,
        n=500,
    )
    print(
        f"  {args.clients} wrk clients, gunicorn 2 workers x 4 threads, {args.duration} s each "
        f"in {args.rounds} alternating rounds, "
        f"Otdel settings: {args.otdel_settings or 'as shipped'}"
    )
    print("  " + line("raw INSERT (WSGI + SQL)", raw_stats))
    print("  " + line("Otdel /telephony/events", otdel_stats))
    print(
        f"  ratio: events/s Otdel/raw = {otdel_stats['rps'] / raw_stats['rps']:.2f} "
        f"(target >= 0.3 on PostgreSQL); {stored} deliveries kept in the intake log, "
        f"{drains_queued} drain tasks queued for them"
    )
    print(
        f"  Otdel in-process: {cost['wall_ms']:.2f} ms wall, {cost['cpu_ms']:.2f} ms CPU and "
        f"{cost['queries']:.2f} SQL "
        "statements per request (warm caches, one client)"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
    if args.process and not backlog:
        ours = received.filter(pk__gt=since_id)
        keep = list(ours.order_by("id").values_list("id", flat=True)[: args.process])
        if keep:
            ours.filter(pk__gt=keep[-1]).delete()  # beyond what we process: bench data only
        stats = drain(args.workers, since_id)
        calls = Interaction.objects.filter(provider="generic", external_id__contains=run)
        distinct = calls.values("external_id").distinct().count()
        print(
            f"  processing ({args.workers} x db_worker --batch): {stats['events']} events in "
            f"{stats['seconds']:.1f} s = {stats['per_second']:.0f} events/s, {stats['failed']} failed, "
            f"{stats['left']} left; dedupe: {calls.count()} timeline rows for {distinct} call ids"
        )
    elif backlog:
        print(f"  processing skipped: {backlog} events were already waiting before this run")
    # Leave no backlog for the next run: what was not processed is dropped (bench data only).
    left = received.filter(pk__gt=since_id)
    dropped = left.count()
    if dropped:
        left.delete()
        print(f"  {dropped} unprocessed events dropped from the bench database")
    drains.delete()


if __name__ == "__main__":
    main()

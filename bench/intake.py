"""Call-event intake benchmark: POST /api/v1/telephony/events vs. a raw single-row INSERT, same run.

8 client processes replay realistic call-event sequences (ringing -> answered -> ended, missed
calls, ~10% of events delivered twice) over keep-alive connections to gunicorn with 2 workers.
The endpoint is measured as shipped: it validates the event, stores it in the intake log and
enqueues a processing task (database task backend) in one transaction, then answers 202.
The raw baseline commits one INSERT of the body per request behind a minimal WSGI app.

Then the queued events are processed by ``manage.py db_worker --batch`` (2 workers) and the
processing rate is printed separately, with a dedupe check: one timeline row per call id.

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/intake.py [--duration 10] [--process 3000]
"""

from __future__ import annotations

import argparse
import datetime
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    PYTHON,
    ROOT,
    database_label,
    django_setup,
    free_port,
    generated_contacts,
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


def drain(workers: int, max_tasks: int) -> dict[str, float]:
    """Run ``db_worker --batch`` processes until the queue is empty or ``max_tasks`` each are done."""
    from django.db.models import Max, Min
    from django_tasks_db.models import DBTaskResult

    before = set(DBTaskResult.objects.finished().values_list("id", flat=True))
    procs = [
        subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--max-tasks",
                str(max_tasks),
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
    done = DBTaskResult.objects.finished().exclude(id__in=before)
    span = done.aggregate(first=Min("started_at"), last=Max("finished_at"))
    count = done.count()
    seconds = (span["last"] - span["first"]).total_seconds() if count else 0.0
    return {
        "tasks": count,
        "failed": done.filter(status="FAILED").count(),
        "seconds": seconds,
        "per_second": count / seconds if seconds else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--process", type=int, default=3000, help="events to process afterwards (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes for processing")
    parser.add_argument("--otdel-settings", default=None, help="settings module for the Otdel server")
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django_tasks_db.models import DBTaskResult
    from rest_framework.authtoken.models import Token

    from bench.raw_intake_app import TABLE, create_table
    from otdel.comms.models import IntakeLog, Interaction

    n = generated_contacts()
    if not n:
        raise SystemExit("No data: run bench/generate.py first.")
    token = Token.objects.get(user__username="bench-pbx").key
    with connection.cursor() as cursor:
        create_table(cursor, connection.vendor)
    backlog = DBTaskResult.objects.ready().count()
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    per_client = [call_events(run, k, n, rng, 20_000) for k in range(args.clients)]

    db = settings.DATABASES["default"]
    env = {"BENCH_SQLITE": str(db["NAME"])} if db["ENGINE"].endswith("sqlite3") else {}
    raw_port, otdel_port = free_port(), free_port()
    raw = start_gunicorn("bench.raw_intake_app:application", raw_port, env=env)
    otdel = start_gunicorn("otdel.wsgi:application", otdel_port, env=otdel_env(args.otdel_settings))
    print(f"call-event intake: {n} contacts, {database_label()}, {machine_label()}")
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    logs_before = IntakeLog.objects.count()
    try:
        warm = [[dict(e, call_id=f"warm-{e['call_id']}") for e in events[:30]] for events in per_client[:2]]
        load(otdel_port, URL, method="POST", headers=headers, per_client=warm, clients=2, duration=2)
        load(raw_port, "/events", method="POST", headers=headers, per_client=warm, clients=2, duration=2)
        raw_stats = load(
            raw_port,
            "/events",
            method="POST",
            headers=headers,
            per_client=per_client,
            clients=args.clients,
            duration=args.duration,
        )
        otdel_stats = load(
            otdel_port,
            URL,
            method="POST",
            headers=headers,
            per_client=per_client,
            clients=args.clients,
            duration=args.duration,
        )
    finally:
        stop(raw, otdel)
    stored = IntakeLog.objects.count() - logs_before
    print(
        f"  {args.clients} clients, gunicorn 2 workers x 4 threads, {args.duration:.0f} s each, "
        f"Otdel settings: {args.otdel_settings or 'as shipped'}"
    )
    print("  " + line("raw INSERT (WSGI + SQL)", raw_stats))
    print("  " + line("Otdel /telephony/events", otdel_stats))
    print(
        f"  ratio: events/s Otdel/raw = {otdel_stats['rps'] / raw_stats['rps']:.2f} "
        f"(target >= 0.3 on PostgreSQL); {stored} deliveries kept in the intake log, each with a task"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
    if args.process and not backlog:
        stats = drain(args.workers, max(1, args.process // args.workers))
        ours = Interaction.objects.filter(provider="generic", external_id__contains=f"{run}-")
        calls = ours.count()
        distinct = ours.values("external_id").distinct().count()
        print(
            f"  processing ({args.workers} x db_worker --batch): {stats['tasks']} events in "
            f"{stats['seconds']:.1f} s = {stats['per_second']:.0f} events/s, {stats['failed']} failed; "
            f"dedupe: {calls} timeline rows for {distinct} call ids"
        )
    elif backlog:
        print(f"  processing skipped: {backlog} tasks were already waiting before this run")
    # Leave no backlog for the next run: what was not processed is dropped (bench data only).
    left = DBTaskResult.objects.ready()
    dropped = left.count()
    if dropped:
        left.delete()
        IntakeLog.objects.filter(status=IntakeLog.Status.RECEIVED).delete()
        print(f"  {dropped} unprocessed events dropped from the bench database")


if __name__ == "__main__":
    main()

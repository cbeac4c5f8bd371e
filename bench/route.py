"""Live-route benchmark: Otdel's route endpoint vs. the raw baseline, same data, same run.

Both run under gunicorn with 2 workers; 8 wrk clients (one keep-alive connection each) on loopback.
Prints p50/p99 latency and requests/s of each, the ratios (target: Otdel p99 <= 2x raw,
>= 1000 rps), and what one request costs inside Otdel (SQL queries, milliseconds in-process).

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/route.py [--duration 10] [--clients 8]
    ... bench/route.py --otdel-settings bench.settings_tuned   # see bench/settings_tuned.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds of load for each side")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternate raw and Otdel this many times (duration split)"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--otdel-settings", default=None, help="settings module for the Otdel server")
    args = parser.parse_args()
    if args.otdel_settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.otdel_settings
    django_setup()
    from django.conf import settings

    n = generated_contacts()
    if not n:
        raise SystemExit("No data: run bench/generate.py first.")
    from otdel.accounts.models import User
    from otdel.accounts.services import user_token_issue

    token = user_token_issue(user=User.objects.get(username="bench-pbx"))
    rng = random.Random(1)
    callers = [typed(phone_number(rng.randrange(n)), rng) for _ in range(2000)]
    callers += ["garbage", ""] * 20  # a ringing call with a broken number must still be answered
    rng.shuffle(callers)
    otdel_paths = [f"/api/v1/telephony/route?caller={quote(c)}" for c in callers]
    raw_paths = [f"/route?caller={quote(c)}" for c in callers]

    db = settings.DATABASES["default"]
    env = {"BENCH_SQLITE": str(db["NAME"])} if db["ENGINE"].endswith("sqlite3") else {}
    raw_port, otdel_port = free_port(), free_port()
    raw = start_gunicorn("bench.raw_route_app:application", raw_port, env=env)
    otdel = start_gunicorn("otdel.wsgi:application", otdel_port, env=otdel_env(args.otdel_settings))
    print(f"live route: {n} contacts, {database_label()}, {machine_label()}")
    try:
        sides = {
            "raw": Target(raw_port, raw_paths[0], bodies=raw_paths),
            "otdel": Target(
                otdel_port, otdel_paths[0], headers={"Authorization": f"Token {token}"}, bodies=otdel_paths
            ),
        }
        # Warm-up: imports, connections, the token and routing caches in every worker.
        for target in sides.values():
            load(target, clients=2, seconds=2)
        stats = compare(sides, rounds=args.rounds, seconds=int(args.duration), clients=args.clients)
        raw_stats, otdel_stats = stats["raw"], stats["otdel"]
    finally:
        stop(raw, otdel)
    cost = in_process([(path, b"") for path in otdel_paths], method="GET", token=token, expect=200)
    print(
        f"  {args.clients} wrk clients, gunicorn 2 workers x 4 threads, {args.duration} s each "
        f"in {args.rounds} alternating rounds, "
        f"Otdel settings: {args.otdel_settings or 'as shipped'}"
    )
    print("  " + line("raw baseline (WSGI + SQL)", raw_stats))
    print("  " + line("Otdel /telephony/route", otdel_stats))
    print(
        f"  Otdel in-process: {cost['wall_ms']:.2f} ms wall, {cost['cpu_ms']:.2f} ms CPU and "
        f"{cost['queries']:.2f} SQL statements per request (warm caches, one client)"
    )
    print(
        f"  ratios: p99 Otdel/raw = {otdel_stats['p99_ms'] / raw_stats['p99_ms']:.2f} (target <= 2.0), "
        f"rps Otdel/raw = {otdel_stats['rps'] / raw_stats['rps']:.2f}; "
        f"Otdel {otdel_stats['rps']:.0f} req/s (target >= 1000)"
    )


if __name__ == "__main__":
    main()

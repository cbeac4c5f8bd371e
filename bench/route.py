"""Live-route benchmark: Otdel's route endpoint vs. the raw baseline, same data, same run.

Both run under gunicorn with 2 workers; 8 client processes with keep-alive connections on loopback.
Prints p50/p99 latency and requests/s of each, and the ratios (target: Otdel p99 <= 2x raw, >= 1000 rps).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup, free_port, line, load, start_gunicorn
from bench.generate import phone_number, typed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from otdel.crm.models import Contact

    n = Contact.objects.count()
    if not n:
        raise SystemExit("No data: run bench/generate.py first.")
    token = Token.objects.get(user__username="bench-pbx").key
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
    otdel = start_gunicorn("otdel.wsgi:application", otdel_port)
    try:
        headers = {"Authorization": f"Token {token}"}
        load(
            otdel_port, otdel_paths[0], headers=headers, bodies=otdel_paths[:50], clients=2, duration=2
        )  # warm-up
        load(raw_port, raw_paths[0], bodies=raw_paths[:50], clients=2, duration=2)
        raw_stats = load(
            raw_port, raw_paths[0], bodies=raw_paths, clients=args.clients, duration=args.duration
        )
        otdel_stats = load(
            otdel_port,
            otdel_paths[0],
            headers=headers,
            bodies=otdel_paths,
            clients=args.clients,
            duration=args.duration,
        )
    finally:
        for proc in (raw, otdel):
            proc.terminate()
            proc.wait(timeout=10)
    print(
        f"live route, {n} contacts, {db['ENGINE'].rsplit('.', 1)[-1]}, {args.clients} clients, gunicorn 2 workers"
    )
    print(line("raw baseline (WSGI + SQL)", raw_stats))
    print(line("Otdel /telephony/route", otdel_stats))
    print(
        f"ratios: p99 Otdel/raw = {otdel_stats['p99_ms'] / raw_stats['p99_ms']:.2f} (target <= 2.0), "
        f"rps Otdel/raw = {otdel_stats['rps'] / raw_stats['rps']:.2f}; Otdel rps {otdel_stats['rps']:.0f} (target >= 1000)"
    )


if __name__ == "__main__":
    main()

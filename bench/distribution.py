"""Distribution benchmark: new leads assigned per second with 8 concurrent creators.

Two measurements, each with 8 processes for ``--duration`` seconds against the default queue
(round robin over the bench's 19 sales managers):

- ``routing_decide(assign=True)``: only the distribution (queue row lock, members, the turn);
- a new web-form lead through ``ingest_event``: contact, identity, lead, routing decision and the
  interaction, as a form submission creates them once the request is accepted.

Prints leads/s of each and how even the round robin stayed (assigned per member, max - min).

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/distribution.py [--duration 10]
    DATABASE_URL=postgres://... .venv/bin/python bench/distribution.py
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import database_label, django_setup, machine_label


def _creator(args: tuple[str, float, int, str]) -> tuple[int, float]:
    mode, duration, index, run = args
    django_setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from otdel.comms.services import InboundEvent, ingest_event
    from otdel.routing.services import routing_decide

    connection.close()  # never share the parent's connection
    done, busy = 0, 0.0
    deadline = time.perf_counter() + duration
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        if mode == "decide":
            with transaction.atomic():
                destination = routing_decide(contact=None, channel="form")
        else:
            destination = ingest_event(
                InboundEvent(
                    provider="bench-form",
                    external_id=f"{run}-{index}-{done}",
                    kind="form",
                    channel="form",
                    occurred_at=timezone.now(),
                    identity_kind="email",
                    identity_value=f"lead-{run}-{index}-{done}@example.ru",
                    contact_name="Покупатель",
                    subject="Заявка с сайта",
                    body="Нужен расчёт на 200 единиц",
                )
            ).destination
        if destination is None or destination.user is None:
            raise RuntimeError(f"nobody got the lead: {destination}")
        busy += time.perf_counter() - began
        done += 1
    connection.close()
    return done, busy


def measure(mode: str, creators: int, duration: float) -> dict[str, float]:
    from otdel.routing.models import QueueMember

    before = dict(QueueMember.objects.filter(queue__code="sales").values_list("user_id", "assigned_count"))
    run = uuid.uuid4().hex[:8]
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    with mp.get_context("fork").Pool(creators) as pool:
        results = pool.map(_creator, [(mode, duration, k, run) for k in range(creators)])
    elapsed = time.perf_counter() - started
    after = dict(QueueMember.objects.filter(queue__code="sales").values_list("user_id", "assigned_count"))
    spread = [after[user] - before.get(user, 0) for user in after]
    total = sum(done for done, _busy in results)
    busy = sum(b for _done, b in results)
    return {
        "leads": total,
        "per_second": total / duration,
        "ms_each": busy / total * 1000 if total else 0.0,
        "spread": max(spread) - min(spread) if spread else 0,
        "min": min(spread) if spread else 0,
        "max": max(spread) if spread else 0,
        "elapsed": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--creators", type=int, default=8)
    args = parser.parse_args()
    django_setup()
    from otdel.crm.models import Contact
    from otdel.routing.models import RoutingSettings

    if not Contact.objects.exists() or RoutingSettings.load().default_queue is None:
        raise SystemExit("No data: run bench/generate.py first.")
    print(f"distribution: {database_label()}, {machine_label()}")
    print(
        f"  {args.creators} concurrent creators, {args.duration:.0f} s each, round robin over the sales queue"
    )
    for mode, label in (
        ("decide", "routing_decide(assign=True)"),
        ("ingest", "new form lead (ingest_event)"),
    ):
        stats = measure(mode, args.creators, args.duration)
        print(
            f"  {label:<30} {stats['per_second']:>7.0f} leads/s   {stats['ms_each']:>6.1f} ms each   "
            f"per member {stats['min']}..{stats['max']} (spread {stats['spread']})"
        )


if __name__ == "__main__":
    main()

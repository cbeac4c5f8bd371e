"""Reports: each report's API response against its own SQL run raw, and each page against its API call.

Runs in one process on the configured database (the bench data set of ``bench/generate.py``). The
first run adds what the data set lacks for reports (``--prepare``, idempotent): a lead for every deal
(channel, source, UTM) plus non-target and untriaged traffic, a stage history for every deal (the
path to its current stage, time in each stage), close dates of won and lost deals, monthly plans.

For each report it times, alternating rounds:
  raw   - the SQL statements the report runs, captured once with their parameters, executed on a
          cursor and fetched (what the database alone costs);
  api   - ``GET /api/v1/reports/<name>`` through Django's test client (auth, filters, selectors,
          Python-side figures, JSON);
  page  - ``GET /reports/<name>/`` (the same plus the template and the chart configuration).
and prints median times with the ratios api/raw (target <= 1.5) and page/api (target <= 2).

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/reports.py
    DATABASE_URL=postgres://... .venv/bin/python bench/reports.py --rounds 7
"""

from __future__ import annotations

import argparse
import datetime
import gc
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup

BATCH = 5000
REPORTS = ["funnel", "traffic", "managers", "lost-reasons", "data-quality"]


def prepare(rng: random.Random) -> None:
    """Leads, stage history, close dates and plans for the bench data set (once)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from otdel.accounts.models import Role, User
    from otdel.crm.models import Deal, Lead, LostReason, Stage
    from otdel.reports.models import ManagerPlan, StageVisit

    if Lead.objects.exists():
        return
    StageVisit.objects.all().delete()  # the one-stay history migrate derived from the bulk-made deals
    started = time.perf_counter()
    reasons = [LostReason.objects.get_or_create(name=n)[0] for n in ("Дорого", "Конкурент", "Нет бюджета")]
    stages = {s.pk: s for s in Stage.objects.all()}
    by_pipeline: dict[int, list[Stage]] = {}
    for s in sorted(stages.values(), key=lambda s: (s.pipeline_id, s.order)):
        by_pipeline.setdefault(s.pipeline_id, []).append(s)
    channels = [("form", "form"), ("call", "call"), ("email", "email"), ("telegram", "messenger")]
    utms = ["yandex", "google", "vk", "", ""]
    now = timezone.now()
    ids = list(
        Deal.objects.order_by("id").values_list(
            "id", "stage_id", "contact_id", "responsible_id", "pipeline_id"
        )
    )
    print(f"stage history and leads for {len(ids)} deals")
    for start in range(0, len(ids), BATCH):
        visits, leads, closes = [], [], []
        for deal_id, stage_id, contact_id, owner_id, pipeline_id in ids[start : start + BATCH]:
            created = now - datetime.timedelta(days=rng.randrange(0, 330), hours=rng.randrange(24))
            ordered = by_pipeline[pipeline_id]
            current = stages[stage_id]
            opens = [s for s in ordered if s.kind == Stage.Kind.OPEN]
            if current.kind == Stage.Kind.OPEN:
                path = opens[: opens.index(current) + 1]
            elif current.kind == Stage.Kind.WON:
                path = [*opens, current]
            else:
                path = [*opens[: rng.randrange(1, len(opens) + 1)], current]
            at = created
            for n, stage in enumerate(path):
                left = at + datetime.timedelta(hours=rng.randrange(1, 24 * 20)) if n + 1 < len(path) else None
                visits.append(
                    StageVisit(
                        deal_id=deal_id,
                        pipeline_id=pipeline_id,
                        stage_id=stage.pk,
                        entered_at=at,
                        left_at=left,
                        seconds=int((left - at).total_seconds()) if left else None,
                        first=True,
                    )
                )
                at = left or at
            if current.kind != Stage.Kind.OPEN:
                closes.append(
                    (deal_id, at, rng.choice(reasons).pk if current.kind == Stage.Kind.LOST else None)
                )
            channel, source = rng.choice(channels)
            leads.append(
                Lead(
                    contact_id=contact_id,
                    source=source,
                    channel=channel,
                    status="in_progress",
                    verdict="qualified",
                    responsible_id=owner_id,
                    utm_source=rng.choice(utms),
                    deal_id=deal_id,
                )
            )
            if rng.random() < 0.25:
                verdict = rng.choice(["non_target", "non_target", ""])
                leads.append(
                    Lead(
                        contact_id=contact_id,
                        source=source,
                        channel=channel,
                        status="closed" if verdict else "new",
                        verdict=verdict,
                        verdict_reason=rng.choice(["supplier", "job_seeker", "spam"]) if verdict else "",
                        utm_source=rng.choice(utms),
                    )
                )
        with transaction.atomic():
            StageVisit.objects.bulk_create(visits)
            Lead.objects.bulk_create(leads)
            for deal_id, closed_at, reason in closes:
                Deal.objects.filter(pk=deal_id).update(closed_at=closed_at, lost_reason_id=reason)
    # Creation dates spread over the year, as the history says (one statement per database).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE crm_deal SET created_at = (SELECT MIN(v.entered_at) FROM reports_stagevisit v "
            "WHERE v.deal_id = crm_deal.id)"
        )
        cursor.execute(
            "UPDATE crm_lead SET created_at = (SELECT d.created_at FROM crm_deal d WHERE d.id = crm_lead.deal_id) "
            "WHERE deal_id IS NOT NULL"
        )
    month = now.date().replace(day=1)
    for user in User.objects.filter(role=Role.SALES_MANAGER):
        ManagerPlan.objects.get_or_create(user=user, month=month, defaults={"amount": 5_000_000})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"prepared in {time.perf_counter() - started:.0f} s")


class Recorder:
    """Records every statement with its parameters (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--reports",
        default=",".join(REPORTS),
        help=f"comma-separated, of {', '.join(REPORTS)} (default: all)",
    )
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from otdel.accounts.models import Role, User

    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    prepare(random.Random(args.seed))
    head, _ = User.objects.get_or_create(
        username="bench-head", defaults={"role": Role.HEAD_OF_SALES, "full_name": "Руководитель"}
    )
    client = Client()
    client.force_login(head)
    today = datetime.date.today()
    query = f"date_from={today - datetime.timedelta(days=365)}&date_to={today}"

    def timed(fn: Any) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    # The cost of any authenticated API request here (session, user, middleware, DRF) with no report
    # SQL behind it: the SLA report, empty until SLA policies exist.
    client.get("/api/v1/reports/sla")
    floor = (
        statistics.median(timed(lambda: client.get("/api/v1/reports/sla")) for _ in range(args.rounds)) * 1000
    )
    client.get("/reports/sla/")
    page_floor = (
        statistics.median(timed(lambda: client.get("/reports/sla/")) for _ in range(args.rounds)) * 1000
    )
    print(f"database: {connection.vendor}; rounds: {args.rounds}; period: last 365 days; user: head of sales")
    print(f"request floor (an API call without report SQL): {floor:.1f} ms; page floor: {page_floor:.1f} ms")
    print(
        f"{'report':<14}{'raw ms':>10}{'api ms':>10}{'page ms':>10}{'api/raw':>10}"
        f"{'(api-floor)/raw':>17}{'page/api':>10}{'(page-pfloor)/(api-floor)':>27}"
    )
    for name in args.reports.split(","):
        api_url, page_url = f"/api/v1/reports/{name}?{query}", f"/reports/{name}/?{query}"
        assert client.get(api_url).status_code == 200 and client.get(page_url).status_code == 200  # warm up
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            client.get(api_url)
        # The report's own statements: what the selectors ran, not the session and user look-ups.
        report_sql = [
            (sql, params)
            for sql, params in recorder.statements
            if "django_session" not in sql
            and "accounts_apitoken" not in sql
            and 'FROM "accounts_user" WHERE "accounts_user"."id" = ' not in sql
        ]

        def raw(report_sql: list[tuple[str, Any]] = report_sql) -> None:
            with connection.cursor() as cursor:
                for sql, params in report_sql:
                    cursor.execute(sql, params)
                    cursor.fetchall()

        times: dict[str, list[float]] = {"raw": [], "api": [], "page": []}
        gc.collect()  # the setup's garbage (prepare, capture) collected now, not inside a timed call
        for n in range(args.rounds):
            order = ["raw", "api", "page"] if n % 2 == 0 else ["page", "api", "raw"]
            for side in order:
                if side == "raw":
                    times["raw"].append(timed(raw))
                elif side == "api":
                    times["api"].append(timed(lambda url=api_url: client.get(url)))
                else:
                    times["page"].append(timed(lambda url=page_url: client.get(url)))
        r, a, p = (statistics.median(times[k]) * 1000 for k in ("raw", "api", "page"))
        print(
            f"{name:<14}{r:>10.1f}{a:>10.1f}{p:>10.1f}{a / r:>10.2f}{(a - floor) / r:>17.2f}{p / a:>10.2f}"
            f"{(p - page_floor) / max(a - floor, 0.1):>27.2f}"
        )


if __name__ == "__main__":
    main()

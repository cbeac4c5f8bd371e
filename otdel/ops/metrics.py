"""Prometheus metrics: off unless ``OTDEL_METRICS_TOKEN`` is set; scraped at /metrics with that token.

Counted in the process (request latency, task durations; with several processes set
``PROMETHEUS_MULTIPROC_DIR`` to a directory all of them share, see docs/operations.md) and read from
the database at scrape time (queues, intake by status, routing decisions by reason, backups), so
those are right however many web nodes and workers run.
"""

from __future__ import annotations

import datetime
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import MiddlewareNotUsed
from django.db.models import Count, Min
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tasks.signals import task_finished
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from otdel.ops.conf import str_setting

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUEST_LATENCY = Histogram(
    "otdel_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASK_DURATION = Histogram(
    "otdel_task_duration_seconds",
    "Run time of background tasks, by task and outcome.",
    ["task", "status"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)


def metrics_token() -> str:
    return str_setting("OTDEL_METRICS_TOKEN")


def metrics_enabled() -> bool:
    return bool(metrics_token())


def _multiprocess_dir_missing() -> bool:
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return bool(shared) and not os.path.isdir(str(shared))


class RequestMetricsMiddleware:
    """Times every request; not even installed (MiddlewareNotUsed) while metrics are off."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not metrics_enabled():
            raise MiddlewareNotUsed
        if _multiprocess_dir_missing():
            # Every observation would fail: better no latency metric than failing requests.
            logger.error("PROMETHEUS_MULTIPROC_DIR does not exist: request metrics are off")
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The pattern, not the path: /contacts/<int:pk>/ is one series, not one per contact.
        # "-": answered by a middleware before URL routing (the PBX's live route, static files).
        route = match.route if match is not None else "-"
        REQUEST_LATENCY.labels(request.method, route, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


@receiver(task_finished)
def _task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    if not metrics_enabled() or task_result.started_at is None or task_result.finished_at is None:
        return
    if _multiprocess_dir_missing():
        return
    seconds = (task_result.finished_at - task_result.started_at).total_seconds()
    TASK_DURATION.labels(task_result.task.name, str(task_result.status).lower()).observe(max(0.0, seconds))


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        from otdel.comms.models import IntakeLog
        from otdel.ops.models import Backup, Heartbeat, SchedulerLease
        from otdel.routing.models import RoutingDecision

        now = timezone.now()
        intake = GaugeMetricFamily(
            "otdel_intake_entries",
            "Deliveries in the intake log by status (processed, failed, rejected, received); the log is "
            "pruned after OTDEL_INTAKE_KEEP_DAYS, so use delta() or increase() over a window.",
            labels=["status"],
        )
        counts = dict(
            IntakeLog.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        for status in IntakeLog.Status.values:
            intake.add_metric([status], counts.get(status, 0))
        yield intake

        waiting = IntakeLog.objects.filter(status=IntakeLog.Status.RECEIVED).aggregate(
            oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "otdel_intake_queue_depth",
            "Deliveries received and not processed yet.",
            value=counts.get("received", 0),
        )
        oldest = waiting["oldest"]
        yield GaugeMetricFamily(
            "otdel_intake_queue_oldest_age_seconds",
            "Age of the oldest delivery waiting for a worker (0 when none waits).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )

        from otdel.ops.health import _tasks_on_database

        if _tasks_on_database():
            from django_tasks_db.models import DBTaskResult

            ready = DBTaskResult.objects.ready().aggregate(depth=Count("id"), oldest=Min("enqueued_at"))
            yield GaugeMetricFamily(
                "otdel_task_queue_depth",
                "Background tasks ready to run and not taken yet.",
                value=ready["depth"],
            )
            yield GaugeMetricFamily(
                "otdel_task_queue_oldest_age_seconds",
                "Age of the oldest task waiting for a worker.",
                value=(now - ready["oldest"]).total_seconds() if ready["oldest"] else 0,
            )

        decisions = GaugeMetricFamily(
            "otdel_routing_decisions_last_hour",
            "Routing decisions made in the last hour, by reason.",
            labels=["reason"],
        )
        hour = RoutingDecision.objects.filter(created_at__gte=now - datetime.timedelta(hours=1))
        by_reason = dict(hour.values_list("reason").annotate(n=Count("id")).values_list("reason", "n"))
        for reason in RoutingDecision.Reason.values:
            decisions.add_metric([reason], by_reason.get(reason, 0))
        yield decisions

        beats = GaugeMetricFamily(
            "otdel_heartbeat_timestamp_seconds",
            "Last heartbeat of the worker and the scheduler.",
            labels=["process"],
        )
        worker = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
        if worker:
            beats.add_metric(["worker"], worker.timestamp())
        scheduler = SchedulerLease.objects.values_list("renewed_at", flat=True).first()
        if scheduler:
            beats.add_metric(["scheduler"], scheduler.timestamp())
        yield beats

        last_ok = Backup.objects.filter(status=Backup.Status.OK).values_list("finished_at", flat=True).first()
        if last_ok:
            yield GaugeMetricFamily(
                "otdel_backup_last_success_timestamp_seconds",
                "When the last backup finished.",
                value=last_ok.timestamp(),
            )


def render_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        base = CollectorRegistry()
        MultiProcessCollector(base)  # type: ignore[no-untyped-call]
    else:
        base = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())  # type: ignore[arg-type]
    return generate_latest(base) + generate_latest(database)


def token_matches(header: str) -> bool:
    expected = metrics_token()
    scheme, _, given = header.partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)

"""/metrics: off unless a token is set, then only for that token, with the promised series."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import override_settings

from otdel.comms.models import IntakeLog
from otdel.routing.models import RoutingDecision

TOKEN = "s3cret-metrics-token"


@pytest.mark.django_db
def test_metrics_are_off_unless_a_token_is_set(client, settings):
    settings.OTDEL_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
@override_settings(OTDEL_METRICS_TOKEN=TOKEN)
def test_metrics_need_the_token():
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
@override_settings(OTDEL_METRICS_TOKEN=TOKEN)
def test_metrics_report_latency_intake_queue_routing_and_tasks():
    IntakeLog.objects.create(provider="generic", status=IntakeLog.Status.PROCESSED)
    IntakeLog.objects.create(provider="generic", status=IntakeLog.Status.FAILED)
    IntakeLog.objects.create(provider="generic", status=IntakeLog.Status.RECEIVED)
    RoutingDecision.objects.create(channel="phone", reason=RoutingDecision.Reason.NON_TARGET)
    RoutingDecision.objects.create(channel="phone", reason=RoutingDecision.Reason.QUEUE)
    RoutingDecision.objects.create(channel="email", reason=RoutingDecision.Reason.QUEUE)
    from otdel.ops.tasks import worker_heartbeat

    worker_heartbeat.enqueue()  # runs inline in tests: a task duration is observed

    client = Client()  # built after the setting: the latency middleware is in place
    client.get("/healthz")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    # (503: no scheduler runs in this test)
    assert 'otdel_http_request_duration_seconds_count{method="GET",route="healthz",status="5xx"} 1.0' in text
    assert 'otdel_intake_entries{status="processed"} 1.0' in text
    assert 'otdel_intake_entries{status="failed"} 1.0' in text
    assert "otdel_intake_queue_depth 1.0" in text
    assert 'otdel_routing_decisions_last_hour{reason="queue"} 2.0' in text
    assert 'otdel_routing_decisions_last_hour{reason="non_target"} 1.0' in text
    assert 'otdel_task_duration_seconds_count{status="successful",task="worker_heartbeat"}' in text
    assert 'otdel_heartbeat_timestamp_seconds{process="worker"}' in text

"""Webhook deliveries: signed, retried with backoff (1, 5, 30... minutes), every attempt in the run
log, given up after the last one; each delivery sent once by two workers (PostgreSQL)."""

import datetime
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from otdel.automation import webhooks
from otdel.automation.models import Rule, RuleRun, WebhookDelivery
from otdel.automation.tests.test_exactly_once import _two_workers
from otdel.crm import services as crm


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first ``fail`` requests, then 200; keeps what it received."""

    fail = 0
    received: list = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with _Flaky.lock:
            _Flaky.received.append(
                {
                    "signature": self.headers["X-Otdel-Signature"],
                    "delivery": self.headers["X-Otdel-Delivery"],
                    "attempt": self.headers["X-Otdel-Attempt"],
                    "body": body,
                }
            )
            failing = len(_Flaky.received) <= _Flaky.fail
        self.send_response(503 if failing else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky(settings):
    settings.OTDEL_OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.received, _Flaky.fail = [], 0
    yield f"http://localhost:{server.server_port}/hook"
    server.shutdown()


def _hook_rule(api_for, head, url):
    response = api_for(head).post(
        "/api/v1/automation/rules",
        {
            "name": "hook",
            "trigger": {"event": "deal.created"},
            "actions": [{"action": "webhook", "url": url, "secret": "s3cret"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.mark.django_db
def test_a_failing_webhook_is_retried_with_backoff_and_the_run_log_shows_each_attempt(
    api_for, head, manager, pipeline, flaky, django_capture_on_commit_callbacks
):
    _Flaky.fail = 2
    rule_id = _hook_rule(api_for, head, flaky)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.state == "pending" and delivery.last_status == 503
    first_wait = delivery.next_attempt_at - timezone.now()
    assert datetime.timedelta(seconds=50) < first_wait <= datetime.timedelta(minutes=1)
    runs = api_for(head).get(f"/api/v1/automation/rules/{rule_id}/runs").json()["results"]
    assert runs[0]["outcome"] == "done" and "1 of 6" in runs[0]["reason"]
    assert runs[0]["deliveries"][0]["attempts"] == 1

    # Not due yet: nothing is sent.
    assert webhooks.webhooks_drain() == 0
    later = timezone.now() + datetime.timedelta(minutes=1, seconds=1)
    assert webhooks.webhooks_drain(now=later) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert datetime.timedelta(minutes=4) < delivery.next_attempt_at - later <= datetime.timedelta(minutes=5)
    assert webhooks.webhooks_drain(now=later + datetime.timedelta(minutes=5)) == 1
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempts == 3
    run = RuleRun.objects.get()
    assert run.outcome == "done" and "3 of 6" in run.reason and "failed" not in run.reason
    # Every attempt carried the same delivery id and a valid signature of the same body.
    assert [r["attempt"] for r in _Flaky.received] == ["1", "2", "3"]
    assert len({r["delivery"] for r in _Flaky.received}) == 1
    for r in _Flaky.received:
        assert r["signature"] == "sha256=" + hmac.new(b"s3cret", r["body"], hashlib.sha256).hexdigest()
    assert json.loads(_Flaky.received[0]["body"])["event"] == "deal.created"


@pytest.mark.django_db
def test_a_webhook_that_never_answers_well_fails_its_run_after_the_last_attempt(
    api_for, head, manager, pipeline, flaky, settings, django_capture_on_commit_callbacks
):
    settings.OTDEL_WEBHOOK_RETRY_MINUTES = [1, 5]
    _Flaky.fail = 100
    _hook_rule(api_for, head, flaky)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    moment = timezone.now()
    for minutes in (1, 6, 60):
        webhooks.webhooks_drain(now=moment + datetime.timedelta(minutes=minutes, seconds=1))
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed" and delivery.attempts == 3 and len(_Flaky.received) == 3
    run = RuleRun.objects.get()
    assert run.outcome == "failed" and "3" in run.reason and "503" in run.reason
    assert not Rule.objects.get().paused_reason  # one failure does not pause the rule


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_each_delivery_once(flaky):
    rule = Rule.objects.create(
        name="hook", event="deal.created", trigger={"event": "deal.created"}, actions=[]
    )
    past = timezone.now() - datetime.timedelta(seconds=1)
    n = 30
    for i in range(n):
        WebhookDelivery.objects.create(
            key=f"k{i}", rule=rule, url=flaky, secret="s", body=json.dumps({"i": i}), next_attempt_at=past
        )
    counts = _two_workers(lambda worker: webhooks.webhooks_drain())
    assert sum(counts.values()) == n
    assert WebhookDelivery.objects.filter(state="delivered", attempts=1).count() == n
    assert sorted(r["delivery"] for r in _Flaky.received) == sorted(f"k{i}" for i in range(n))

"""Automation rules: API, validation, triggers, conditions (AND/OR), actions, working-time delays."""

import datetime
import hashlib
import hmac
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from otdel.automation import rules
from otdel.automation.models import Notification, Rule, RuleRun
from otdel.automation.worktime import add_minutes
from otdel.core.models import CalendarDay
from otdel.crm import services as crm
from otdel.crm.models import Task
from otdel.crm.tests.factories import DealFactory, LeadFactory
from otdel.routing.models import Queue, QueueMember

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")


def _stage(pipeline, name):
    return pipeline.stages.get(name=name)


def _rule(api, **body):
    payload = {
        "name": "r",
        "trigger": {"event": "deal.created"},
        "actions": [{"action": "notify", "to": "responsible", "text": "x"}],
    }
    payload.update(body)
    return api.post("/api/v1/automation/rules", payload, format="json")


def test_stage_rule_gives_a_task_once_and_logs_the_run(
    api_for, head, manager, pipeline, django_capture_on_commit_callbacks
):
    invoice = _stage(pipeline, "Счёт выставлен")
    response = _rule(
        api_for(head),
        name="Позвонить после счёта",
        trigger={"event": "deal.stage_entered", "stage": invoice.pk},
        actions=[
            {"action": "task", "title": "Позвонить клиенту", "due_in_minutes": 960, "assignee": "responsible"}
        ],
        working_time=True,
    )
    assert response.status_code == 201, response.json()
    rule_id = response.json()["id"]
    assert Rule.objects.get(pk=rule_id).pipeline_id == pipeline.pk
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_move(actor=manager, deal=deal, stage=invoice)
    task = Task.objects.get(deal=deal, title="Позвонить клиенту")
    assert task.assignee == manager
    assert task.due_at > timezone.now()
    runs = api_for(head).get(f"/api/v1/automation/rules/{rule_id}/runs").json()["results"]
    assert [(r["subject"], r["outcome"]) for r in runs] == [({"type": "deal", "id": deal.pk}, "done")]
    # The same occurrence matched again (a redelivered event) runs nothing more.
    run = RuleRun.objects.get()
    made = rules.rules_match(
        event=run.event,
        payload=run.payload,
        subject_type="deal",
        subject_id=deal.pk,
        occurrence=run.occurrence,
    )
    assert made == 0 and rules.runs_drain() == 0
    assert Task.objects.filter(deal=deal, title="Позвонить клиенту").count() == 1


def test_other_stage_does_not_trigger(api_for, head, manager, pipeline, django_capture_on_commit_callbacks):
    _rule(
        api_for(head), trigger={"event": "deal.stage_entered", "stage": _stage(pipeline, "Счёт выставлен").pk}
    )
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_move(actor=manager, deal=deal, stage=_stage(pipeline, "Переговоры"))
    assert not RuleRun.objects.exists()


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([{"field": "amount", "op": "gte", "value": "100000"}], "done"),
        ([{"field": "amount", "op": "gt", "value": "100000"}], "skipped"),
        (
            [
                {"field": "amount", "op": "lt", "value": "200000"},
                {"field": "title", "op": "contains", "value": "крупн"},
            ],
            "done",
        ),
        (
            [
                {"field": "amount", "op": "lt", "value": "200000"},
                {"field": "title", "op": "eq", "value": "другое"},
            ],
            "skipped",
        ),
        (
            [
                {
                    "any": [
                        {"field": "title", "op": "eq", "value": "нет"},
                        {"field": "amount", "op": "lte", "value": "100000"},
                    ]
                }
            ],
            "done",
        ),
        (
            [
                {
                    "any": [
                        {"field": "title", "op": "eq", "value": "нет"},
                        {"field": "amount", "op": "ne", "value": "100000"},
                    ]
                }
            ],
            "skipped",
        ),
        ([{"field": "company", "op": "empty"}], "done"),
        ([{"field": "company", "op": "not_empty"}], "skipped"),
        ([{"field": "title", "op": "in", "value": ["Крупный заказ", "x"]}], "done"),
        ([{"field": "title", "op": "not_in", "value": ["Крупный заказ"]}], "skipped"),
    ],
)
def test_conditions(
    api_for, head, manager, pipeline, conditions, expected, django_capture_on_commit_callbacks
):
    assert _rule(api_for(head), conditions=conditions).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(
            actor=head,
            title="Крупный заказ",
            pipeline=pipeline,
            amount=Decimal("100000"),
            responsible=manager,
        )
    run = RuleRun.objects.get()
    assert run.outcome == expected, run.reason
    assert Notification.objects.filter(user=manager, kind="automation").exists() == (expected == "done")


def test_delay_waits_for_the_worker(api_for, head, manager, pipeline, django_capture_on_commit_callbacks):
    _rule(api_for(head), delay_minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    run = RuleRun.objects.get()
    assert run.outcome == "pending"
    assert rules.runs_drain() == 0
    assert rules.runs_drain(now=run.due_at + datetime.timedelta(seconds=1)) == 1
    run.refresh_from_db()
    assert run.outcome == "done"


def test_working_time_skips_weekend_and_holiday(db):
    friday = datetime.datetime(2026, 12, 4, 17, 30, tzinfo=MSK)
    assert add_minutes(friday, 60, working_time=True) == datetime.datetime(2026, 12, 7, 9, 30, tzinfo=MSK)
    assert add_minutes(friday, 60, working_time=False) == datetime.datetime(2026, 12, 4, 18, 30, tzinfo=MSK)
    CalendarDay.objects.update_or_create(date=datetime.date(2026, 11, 3), defaults={"kind": "short"})
    CalendarDay.objects.update_or_create(date=datetime.date(2026, 11, 4), defaults={"kind": "holiday"})
    tuesday = datetime.datetime(2026, 11, 3, 16, 30, tzinfo=MSK)  # a short day: ends at 17:00
    assert add_minutes(tuesday, 60, working_time=True) == datetime.datetime(2026, 11, 5, 9, 30, tzinfo=MSK)
    night = datetime.datetime(2026, 12, 8, 23, 0, tzinfo=MSK)
    assert add_minutes(night, 15, working_time=True) == datetime.datetime(2026, 12, 9, 9, 15, tzinfo=MSK)
    # Two working days = 2 x 9 hours.
    assert add_minutes(
        datetime.datetime(2026, 12, 4, 10, 0, tzinfo=MSK), 2 * 540, working_time=True
    ) == datetime.datetime(2026, 12, 8, 10, 0, tzinfo=MSK)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"trigger": {"event": "deal.exploded"}}, "trigger", "unknown_event"),
        ({"trigger": {"event": "deal.stage_entered", "stage": 999999}}, "trigger.stage", "unknown_stage"),
        ({"actions": [{"action": "assign", "queue": "nope"}]}, "actions[0].queue", "unknown_queue"),
        (
            {"actions": [{"action": "notify", "to": {"user": 999999}, "text": "x"}]},
            "actions[0].to",
            "unknown_user",
        ),
        (
            {"actions": [{"action": "task", "title": "x", "assignee": {"user": 999999}}]},
            "actions[0].assignee",
            "unknown_user",
        ),
        ({"actions": [{"action": "move_stage", "stage": 999999}]}, "actions[0].stage", "unknown_stage"),
        (
            {"actions": [{"action": "generate_document", "template": 999999}]},
            "actions[0].template",
            "unknown_template",
        ),
        (
            {"actions": [{"action": "send_email", "subject": "Hi {{ deal.colour }}", "body": "x"}]},
            "actions[0].subject",
            "unknown_variable",
        ),
        (
            {"actions": [{"action": "send_email", "subject": "s", "body": "b", "purpose": "nope"}]},
            "actions[0].purpose",
            "unknown_purpose",
        ),
        ({"actions": [{"action": "start_approval", "route": 999999}]}, "actions[0].route", "unknown_route"),
        ({"actions": [{"action": "fly"}]}, "actions[0]", "unknown_action"),
        (
            {"actions": [{"action": "webhook", "url": "http://127.0.0.1/x", "secret": "s"}]},
            "actions[0].url",
            "url_not_allowed",
        ),
        (
            {"conditions": [{"field": "colour", "op": "eq", "value": 1}]},
            "conditions[0].field",
            "unknown_field",
        ),
        (
            {"conditions": [{"any": [{"field": "amount", "op": "approx", "value": 1}]}]},
            "conditions[0].any[0].op",
            "unknown_operator",
        ),
    ],
)
def test_bad_references_are_400_naming_them(api_for, head, body, field, code):
    response = _rule(api_for(head), **body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert field in response.json()["errors"]
    assert not Rule.objects.exists()


def test_only_rule_managers(api_for, manager):
    assert _rule(api_for(manager)).status_code == 403


def test_assign_through_queue_and_move_stage(
    api_for, head, manager, other_manager, pipeline, django_capture_on_commit_callbacks, monkeypatch
):
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=other_manager)
    monkeypatch.setattr("otdel.accounts.models.User.on_shift", lambda self, moment: True)
    nego = _stage(pipeline, "Переговоры")
    response = _rule(
        api_for(head),
        actions=[{"action": "assign", "queue": "sales"}, {"action": "move_stage", "stage": nego.pk}],
    )
    assert response.status_code == 201, response.json()
    with django_capture_on_commit_callbacks(execute=True):
        deal = crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    deal.refresh_from_db()
    assert RuleRun.objects.get().outcome == "done", RuleRun.objects.get().reason
    assert deal.responsible == other_manager and deal.stage == nego


def test_lead_trigger_with_source_condition(api_for, head, manager, django_capture_on_commit_callbacks):
    _rule(
        api_for(head),
        trigger={"event": "lead.created"},
        conditions=[{"field": "source", "op": "eq", "value": "form"}],
        actions=[{"action": "task", "title": "Ответить"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = crm.lead_create(
            actor=None, contact=LeadFactory().contact, source="form", channel="form", responsible=manager
        )
    assert Task.objects.get(lead=lead).assignee == manager


def test_failing_action_is_logged_failed(
    api_for, head, manager, pipeline, django_capture_on_commit_callbacks
):
    queue = Queue.objects.create(code="empty", name="Пустая")
    _rule(
        api_for(head), actions=[{"action": "task", "title": "t"}, {"action": "assign", "queue": queue.code}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        deal = crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    run = RuleRun.objects.get()
    assert run.outcome == "failed" and "empty" in run.reason
    assert not Task.objects.filter(deal=deal, title="t").exists()  # the run's actions roll back together


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/final")
            self.end_headers()
            return
        _Hook.received.append((self.headers["X-Otdel-Signature"], body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    yield server
    server.shutdown()


def test_webhook_is_signed(
    api_for, head, manager, pipeline, hook_server, settings, django_capture_on_commit_callbacks
):
    settings.OTDEL_OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    url = f"http://localhost:{hook_server.server_port}/hook"
    assert (
        _rule(api_for(head), actions=[{"action": "webhook", "url": url, "secret": "s3cret"}]).status_code
        == 201
    )
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    assert RuleRun.objects.get().outcome == "done", RuleRun.objects.get().reason
    ((signature, body),) = _Hook.received
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["event"] == "deal.created"


def test_webhook_never_follows_a_redirect_to_a_refused_address(hook_server, settings):
    from otdel.core import outbound

    settings.OTDEL_OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    with pytest.raises(outbound.OutboundRefused):
        outbound.post(f"http://localhost:{hook_server.server_port}/redirect", data=b"{}", headers={})
    assert _Hook.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "ftp://example.com/",
        "http://0.0.0.0/",
    ],
)
def test_outbound_refuses_local_addresses(url):
    from otdel.core import outbound

    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url)


def test_task_overdue_fires_once(api_for, head, manager, django_capture_on_commit_callbacks):
    from otdel.crm.tests.factories import ContactFactory

    assert (
        _rule(
            api_for(head),
            trigger={"event": "task.overdue"},
            actions=[{"action": "notify", "to": "responsible", "text": "Задача просрочена"}],
        ).status_code
        == 201
    )
    task = Task.objects.create(
        title="Позвонить",
        assignee=manager,
        contact=ContactFactory(),
        due_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    Task.objects.create(
        title="Давно",
        assignee=manager,
        contact=task.contact,
        due_at=timezone.now() - datetime.timedelta(days=30),
    )
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            rules.tasks_overdue_emit()
    run = RuleRun.objects.get()
    assert (run.subject_type, run.subject_id, run.outcome) == ("task", task.pk, "done")
    assert manager.notifications.filter(kind="automation", title__startswith="Задача просрочена").count() == 1


def test_a_rule_failing_again_and_again_is_paused_and_admins_told(
    api_for, head, manager, admin_user, pipeline, django_capture_on_commit_callbacks
):
    Queue.objects.create(code="empty", name="Пустая")
    _rule(api_for(head), actions=[{"action": "assign", "queue": "empty"}])
    for n in range(rules.PAUSE_AFTER_FAILURES + 1):
        with django_capture_on_commit_callbacks(execute=True):
            crm.deal_create(actor=head, title=f"d{n}", pipeline=pipeline, responsible=manager)
    rule = Rule.objects.get()
    assert rule.paused_reason
    assert (
        RuleRun.objects.filter(outcome="failed").count() == rules.PAUSE_AFTER_FAILURES
    )  # the sixth deal matched nothing
    assert admin_user.notifications.filter(kind="automation").count() == 1
    assert (
        api_for(head)
        .patch(f"/api/v1/automation/rules/{rule.pk}", {"is_active": True}, format="json")
        .json()["paused_reason"]
        == ""
    )

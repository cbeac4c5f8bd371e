"""SLA: policies via the API, clocks started by leads and stage moves, met by the first response or a
triage verdict, warned and breached once with their escalation actions, ``sla`` on the API."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from otdel.automation import sla
from otdel.automation.models import SlaPolicy, SlaTimer
from otdel.comms.models import Interaction
from otdel.core.events import InteractionReceived, emit
from otdel.crm import services as crm
from otdel.crm.models import Task
from otdel.crm.tests.factories import ContactFactory, DealFactory
from otdel.routing.models import Queue, QueueMember

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")


def _policy(api, **body):
    payload = {
        "name": "Первый ответ",
        "target": "first_response",
        "applies_to": {"channel": "form"},
        "minutes": 15,
        "working_time": False,
        "warn_at_percent": 50,
    }
    payload.update(body)
    return api.post("/api/v1/sla-policies", payload, format="json")


def _lead(manager, channel="form"):
    return crm.lead_create(
        actor=None,
        contact=ContactFactory(responsible=manager),
        source="form",
        channel=channel,
        responsible=manager,
    )


def test_policy_api_and_bad_references(api_for, head, manager):
    api = api_for(head)
    assert _policy(api).status_code == 201
    response = _policy(api, on_breach=[{"action": "assign", "queue": "nope"}])
    assert response.status_code == 400 and "on_breach[0].queue" in response.json()["errors"]
    response = _policy(api, target="stage_time", applies_to={"stage": 999999})
    assert response.status_code == 400 and "applies_to.stage" in response.json()["errors"]
    assert _policy(api_for(manager)).status_code == 403


def test_lead_clock_warns_then_breaches_once_with_escalation(
    api_for, head, manager, other_manager, monkeypatch, django_capture_on_commit_callbacks
):
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=other_manager)
    monkeypatch.setattr("otdel.accounts.models.User.on_shift", lambda self, moment: True)
    response = _policy(
        api_for(head),
        on_warn=[{"action": "notify", "to": "responsible", "text": "Ответьте клиенту"}],
        on_breach=[
            {"action": "notify", "to": "head_of_sales", "text": "Нет ответа"},
            {"action": "assign", "queue": "sales"},
        ],
    )
    assert response.status_code == 201, response.json()
    with django_capture_on_commit_callbacks(execute=True):
        lead = _lead(manager)
        other = _lead(manager, channel="call")  # another channel: no clock
    timer = SlaTimer.objects.get()
    assert timer.lead == lead and timer.state == "running"
    assert timer.due_at == lead.created_at + datetime.timedelta(minutes=15)
    assert not SlaTimer.objects.filter(lead=other).exists()

    assert sla.timers_drain(now=timer.created_at) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.timers_drain(now=lead.created_at + datetime.timedelta(minutes=8)) == 1
    timer.refresh_from_db()
    assert timer.state == "warned"
    assert manager.notifications.filter(kind="automation", title__startswith="Ответьте клиенту").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.timers_drain(now=lead.created_at + datetime.timedelta(minutes=16)) == 1
        assert sla.timers_drain(now=lead.created_at + datetime.timedelta(minutes=30)) == 0
    timer.refresh_from_db()
    lead.refresh_from_db()
    assert timer.state == "breached"
    assert head.notifications.filter(kind="automation", title__startswith="Нет ответа").count() == 1
    assert lead.responsible == other_manager  # handed to the next in the queue, the clock stays
    api = api_for(head)
    (clock,) = api.get(f"/api/v1/leads/{lead.pk}").json()["sla"]
    assert clock["state"] == "breached" and clock["policy"] == timer.policy_id
    assert api.get(f"/api/v1/leads/{lead.pk}/sla").json()["sla"][0]["state"] == "breached"


def test_first_outbound_answer_meets_the_clock(api_for, head, manager, django_capture_on_commit_callbacks):
    _policy(api_for(head))
    with django_capture_on_commit_callbacks(execute=True):
        lead = _lead(manager)
    inbound = Interaction.objects.create(
        kind="email", direction="in", contact=lead.contact, lead=lead, occurred_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        emit(InteractionReceived(interaction_id=inbound.pk))
    assert SlaTimer.objects.get().state == "running"
    reply = Interaction.objects.create(
        kind="email", direction="out", contact=lead.contact, lead=lead, occurred_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        emit(InteractionReceived(interaction_id=reply.pk))
    timer = SlaTimer.objects.get()
    assert timer.state == "met" and timer.met_at is not None
    assert sla.timers_drain(now=timezone.now() + datetime.timedelta(days=1)) == 0


def test_unanswered_outbound_call_does_not_meet_but_triage_does(
    api_for, head, manager, django_capture_on_commit_callbacks
):
    _policy(api_for(head))
    with django_capture_on_commit_callbacks(execute=True):
        lead = _lead(manager)
    call = Interaction.objects.create(
        kind="call",
        direction="out",
        status="busy",
        contact=lead.contact,
        lead=lead,
        occurred_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        emit(InteractionReceived(interaction_id=call.pk))
    assert SlaTimer.objects.get().state == "running"
    with django_capture_on_commit_callbacks(execute=True):
        crm.lead_set_verdict(actor=head, lead=lead, verdict="non_target", reason="спам")
    assert SlaTimer.objects.get().state == "met"


def test_working_time_target(api_for, head, manager, django_capture_on_commit_callbacks):
    _policy(api_for(head), working_time=True)
    with django_capture_on_commit_callbacks(execute=True):
        lead = _lead(manager)
    lead.created_at = datetime.datetime(2026, 12, 4, 17, 55, tzinfo=MSK)  # a Friday, 5 minutes before close
    lead.save()
    SlaTimer.objects.all().delete()
    policy = SlaPolicy.objects.get()
    timer = sla.timer_start(policy=policy, key="x", started_at=lead.created_at, lead=lead)
    assert timer.due_at == datetime.datetime(2026, 12, 7, 9, 10, tzinfo=MSK)


def test_stage_time_clock_and_task_on_breach(
    api_for, head, manager, pipeline, django_capture_on_commit_callbacks
):
    stage = pipeline.stages.get(name="Переговоры")
    response = _policy(
        api_for(head),
        name="Переговоры не дольше суток",
        target="stage_time",
        applies_to={"stage": stage.pk},
        minutes=1440,
        on_breach=[{"action": "task", "title": "Сдвиньте сделку", "due_in_minutes": 60}],
    )
    assert response.status_code == 201, response.json()
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_move(actor=manager, deal=deal, stage=stage)
    timer = SlaTimer.objects.get(deal=deal)
    with django_capture_on_commit_callbacks(execute=True):
        sla.timers_drain(now=timer.due_at + datetime.timedelta(seconds=1))
    assert Task.objects.get(deal=deal, title="Сдвиньте сделку").assignee == manager
    assert api_for(manager).get(f"/api/v1/deals/{deal.pk}").json()["sla"][0]["state"] == "breached"
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_move(actor=manager, deal=deal, stage=pipeline.stages.get(name="Счёт выставлен"))
    assert SlaTimer.objects.get(deal=deal).state == "breached"  # a breach stays a breach


def test_an_escalation_to_a_deactivated_person_is_shown_and_never_silent(
    api_for, client, head, manager, other_manager, django_capture_on_commit_callbacks
):
    response = _policy(
        api_for(head), on_breach=[{"action": "notify", "to": {"user": other_manager.pk}, "text": "Эскалация"}]
    )
    assert response.status_code == 201, response.json()
    other_manager.is_active = False
    other_manager.save()
    with django_capture_on_commit_callbacks(execute=True):
        lead = _lead(manager)
    client.force_login(head)
    board = client.get("/automation/sla/")
    assert board.status_code == 200 and b'data-testid="sla-policy-problem"' in board.content
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.timers_drain(now=lead.created_at + datetime.timedelta(minutes=16)) == 1
    assert SlaTimer.objects.get().state == "breached"
    (told,) = head.notifications.filter(kind="automation")
    assert "Первый ответ" in told.title and str(other_manager.pk) in told.title
    assert told.url == f"/leads/{lead.pk}/"

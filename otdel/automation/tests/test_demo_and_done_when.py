"""The issue's "Done when", end to end: both rules set up in the UI alone by the head of sales, then
a lead from the site and a deal entering "Счёт выставлен"; each fires once, visible on the card,
the board and the run log. And the demo seeds the same two rules, idempotently."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from otdel.automation import sla
from otdel.automation.demo import seed_demo
from otdel.automation.models import Rule, RuleRun, SlaPolicy, SlaTimer
from otdel.automation.worktime import add_minutes
from otdel.crm import services as crm
from otdel.crm.models import Task
from otdel.crm.tests.factories import ContactFactory, DealFactory, PipelineFactory
from otdel.routing.models import Queue, QueueMember

pytestmark = pytest.mark.django_db


def test_done_when_in_the_ui(
    client, head, manager, other_manager, pipeline, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("otdel.accounts.models.User.on_shift", lambda self, moment: True)
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=manager)
    QueueMember.objects.create(queue=queue, user=other_manager)
    client.force_login(head)
    response = client.post(
        reverse("automation_sla_board"),
        {
            "name": "Ответ на заявку с сайта",
            "target": "first_response",
            "channel": "form",
            "minutes": 15,
            "working_time": "on",
            "warn_at_percent": 80,
            "breach_head": "on",
            "breach_queue": "sales",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    invoice = pipeline.stages.get(name="Счёт выставлен")
    response = client.post(
        reverse("automation_pipeline_rules", args=[pipeline.pk]),
        {
            "name": "Позвонить после счёта",
            "event": "deal.stage_entered",
            "stage": invoice.pk,
            "delay_minutes": 0,
            "working_time": "on",
            "action": "task",
            "title": "Позвонить по счёту",
            "due_in_minutes": 1080,
        },
    )
    assert response.status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        lead = crm.lead_create(
            actor=None,
            contact=ContactFactory(responsible=manager),
            source="form",
            channel="form",
            responsible=manager,
        )
    timer = SlaTimer.objects.get(lead=lead)
    assert timer.due_at == add_minutes(lead.created_at, 15, working_time=True)
    for _ in range(2):  # the worker runs twice past the deadline: the breach happens once
        with django_capture_on_commit_callbacks(execute=True):
            sla.timers_drain(now=timer.due_at + datetime.timedelta(seconds=1))
    lead.refresh_from_db()
    assert lead.responsible == other_manager
    assert head.notifications.filter(kind="automation").count() == 1
    assert 'data-state="breached"' in client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert 'data-state="breached"' in client.get(reverse("automation_sla_board")).content.decode()

    deal = DealFactory(pipeline=pipeline, responsible=manager)
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_move(actor=manager, deal=deal, stage=invoice)
    task = Task.objects.get(deal=deal, title="Позвонить по счёту")
    assert task.assignee == manager
    assert task.due_at >= timezone.now() + datetime.timedelta(days=1)  # two working days ahead
    rule = Rule.objects.get()
    assert 'data-outcome="done"' in client.get(reverse("automation_rule", args=[rule.pk])).content.decode()
    assert RuleRun.objects.filter(rule=rule).count() == 1


def test_seed_demo_is_idempotent(head, manager):
    PipelineFactory(name="Продажи")
    head.username = "orlova"
    head.save()
    seed_demo()
    seed_demo()
    assert SlaPolicy.objects.count() == 1 and Rule.objects.count() == 1
    rule = Rule.objects.get()
    assert rule.stage.name == "Счёт выставлен" and rule.working_time
    assert SlaPolicy.objects.get().on_breach[1] == {"action": "assign", "queue": "sales"}
    assert Queue.objects.get(code="sales").memberships.filter(user=manager).exists()


def test_sla_history_of_past_leads(manager):
    """The demo's past web-form leads get finished clocks by their real first answer, once."""
    from zoneinfo import ZoneInfo

    from otdel.automation.demo import sla_history_seed
    from otdel.automation.models import SlaTimer
    from otdel.comms.models import Interaction
    from otdel.crm.models import Lead
    from otdel.crm.tests.factories import ContactFactory, LeadFactory

    msk = ZoneInfo("Europe/Moscow")
    tuesday = datetime.datetime(2026, 11, 10, 10, 0, tzinfo=msk)
    policy = SlaPolicy.objects.create(
        name="Первый ответ", target="first_response", minutes=15, applies_to={"channel": "form"}
    )

    def lead(channel, answer_after):
        contact = ContactFactory()
        made = LeadFactory(contact=contact, channel=channel, responsible=manager)
        Lead.objects.filter(pk=made.pk).update(created_at=tuesday)
        if answer_after is not None:
            Interaction.objects.create(
                kind="email",
                channel="email",
                direction="out",
                contact=contact,
                occurred_at=tuesday + datetime.timedelta(minutes=answer_after),
            )
        return made

    quick, late, never, phone = lead("form", 5), lead("form", 120), lead("form", None), lead("call", 5)
    assert sla_history_seed(policy) == 3
    assert sla_history_seed(policy) == 0
    timers = {t.lead_id: t for t in SlaTimer.objects.all()}
    assert phone.pk not in timers
    assert timers[quick.pk].state == "met"
    assert timers[late.pk].state == "breached"
    assert timers[late.pk].met_at == tuesday + datetime.timedelta(minutes=120)
    assert timers[never.pk].state == "breached" and timers[never.pk].met_at is None

"""Pages: "My day" (the salesperson's start page, the head's view by person), the rule editor, the
run log, the SLA board and the SLA clock on the lead and deal cards."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from otdel.automation.models import Rule, RuleRun, SlaPolicy, SlaTimer
from otdel.crm.models import Task
from otdel.crm.tests.factories import ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_start_page_is_my_day(client, manager):
    client.force_login(manager)
    assert client.get("/")["Location"] == reverse("my_day")


def test_my_day_lists_overdue_today_call_backs_and_waiting_leads(client, manager):
    contact = ContactFactory(responsible=manager)
    now = timezone.now()
    Task.objects.create(
        title="Просроченная", assignee=manager, contact=contact, due_at=now - datetime.timedelta(hours=3)
    )
    Task.objects.create(title="Перезвонить", kind="call_back", assignee=manager, contact=contact, due_at=now)
    lead = LeadFactory(contact=contact, responsible=manager)
    policy = SlaPolicy.objects.create(name="Ответ за 15 минут", target="first_response", minutes=15)
    SlaTimer.objects.create(
        policy=policy,
        lead=lead,
        key=f"lead:{lead.pk}",
        started_at=now,
        due_at=now + datetime.timedelta(minutes=15),
        state="warned",
    )
    client.force_login(manager)
    page = client.get(reverse("my_day")).content.decode()
    assert "Просроченная" in page and "Перезвонить" in page
    assert contact.full_name in page
    assert 'data-state="warned"' in page
    assert 'data-testid="team-day"' not in page  # a salesperson sees their own day only


def test_head_sees_the_department_with_overdue_counts(client, head, manager, other_manager):
    contact = ContactFactory()
    past = timezone.now() - datetime.timedelta(hours=1)
    for _ in range(2):
        Task.objects.create(title="t", assignee=manager, contact=contact, due_at=past)
    client.force_login(head)
    page = client.get(reverse("my_day")).content.decode()
    assert 'data-testid="team-day"' in page
    row = page.split('data-user="manager"')[1].split("</tr>")[0]
    assert 'data-testid="team-overdue">2<' in row


def test_rule_editor_creates_a_stage_rule_from_the_form(client, head, pipeline):
    stage = pipeline.stages.get(name="Счёт выставлен")
    client.force_login(head)
    url = reverse("automation_pipeline_rules", args=[pipeline.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "Позвонить через 2 дня",
            "event": "deal.stage_entered",
            "stage": stage.pk,
            "delay_minutes": 0,
            "working_time": "on",
            "action": "task",
            "title": "Позвонить клиенту",
            "due_in_minutes": 1080,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = Rule.objects.get()
    assert rule.stage == stage and rule.actions == [
        {"action": "task", "title": "Позвонить клиенту", "due_in_minutes": 1080, "assignee": "responsible"}
    ]
    page = client.get(url).content.decode()
    column = page.split(f'data-stage="{stage.pk}"')[1].split('data-testid="rule-column"')[0]
    assert "Позвонить через 2 дня" in column


def test_rule_form_shows_what_the_service_refused(client, head):
    client.force_login(head)
    response = client.post(
        reverse("automation_rules"),
        {"name": "x", "event": "deal.created", "delay_minutes": 0, "action": "task", "title": ""},
    )
    assert response.status_code == 200
    assert 'data-testid="rule-form-errors"' in response.content.decode()
    assert not Rule.objects.exists()


def test_run_log_and_pages_are_for_managers_only(client, head, manager):
    rule = Rule.objects.create(name="r", event="deal.created", trigger={"event": "deal.created"}, actions=[])
    deal = DealFactory()
    RuleRun.objects.create(
        rule=rule,
        subject_type="deal",
        subject_id=deal.pk,
        occurrence="o",
        event="deal.created",
        due_at=timezone.now(),
        outcome="skipped",
        reason="условия не выполнены",
    )
    client.force_login(head)
    page = client.get(reverse("automation_rule", args=[rule.pk])).content.decode()
    assert 'data-outcome="skipped"' in page and "условия не выполнены" in page
    client.force_login(manager)
    for name, args in (
        ("automation_rule", [rule.pk]),
        ("automation_rules", []),
        ("automation_sla_board", []),
    ):
        assert client.get(reverse(name, args=args)).status_code == 403


def test_sla_board_and_cards_show_the_clock(client, head, manager, pipeline):
    lead = LeadFactory(responsible=manager)
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    policy = SlaPolicy.objects.create(name="Первый ответ", target="first_response", minutes=15)
    now = timezone.now()
    SlaTimer.objects.create(
        policy=policy, lead=lead, key="a", started_at=now, due_at=now, state="breached", breached_at=now
    )
    SlaTimer.objects.create(
        policy=policy, deal=deal, key="b", started_at=now, due_at=now + datetime.timedelta(hours=1)
    )
    client.force_login(head)
    board = client.get(reverse("automation_sla_board")).content.decode()
    assert board.count('data-testid="sla-row"') == 2
    assert 'data-state="breached"' in board
    assert 'data-state="breached"' in client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert 'data-state="running"' in client.get(reverse("deal_detail", args=[deal.pk])).content.decode()


@pytest.mark.parametrize(
    ("language", "title", "heading"),
    [
        ("ru", "Мой день", "Заявки, ждущие первого ответа"),
        ("en", "My day", "Leads waiting for a first response"),
    ],
)
def test_my_day_in_russian_and_english(client, manager, language, title, heading):
    manager.language = language
    manager.save()
    client.force_login(manager)
    page = client.get(reverse("my_day"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert title in page and heading in page


def test_rule_errors_in_russian(api_for, head):
    head.language = "ru"
    head.save()
    response = api_for(head).post(
        "/api/v1/automation/rules",
        {
            "name": "r",
            "trigger": {"event": "deal.created"},
            "actions": [{"action": "assign", "queue": "nope"}],
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    (message,) = response.json()["errors"]["actions[0].queue"]
    assert "очеред" in message.lower() and "«nope»" in message


def test_try_on_past_records_changes_nothing(client, head, manager, pipeline):
    from decimal import Decimal

    from otdel.automation.services import rule_create

    stage = pipeline.stages.get(name="Счёт выставлен")
    big = DealFactory(
        pipeline=pipeline, stage=stage, responsible=manager, amount=Decimal("500000"), title="Большая"
    )
    small = DealFactory(
        pipeline=pipeline, stage=stage, responsible=manager, amount=Decimal("1000"), title="Маленькая"
    )
    DealFactory(pipeline=pipeline, responsible=manager, title="На другом этапе")
    rule = rule_create(
        actor=head,
        name="r",
        trigger={"event": "deal.stage_entered", "stage": stage.pk},
        conditions=[{"field": "amount", "op": "gte", "value": "100000"}],
        actions=[{"action": "task", "title": "Позвонить"}],
    )
    client.force_login(head)
    page = client.get(reverse("automation_rule", args=[rule.pk]) + "?try=1").content.decode()
    assert page.count('data-testid="trial-row"') == 2
    assert "На другом этапе" not in page
    row_big = page.split(f"/deals/{big.pk}/")[1].split("</tr>")[0]
    assert "Позвонить" in row_big
    assert f"/deals/{small.pk}/" in page
    assert not Task.objects.exists() and not RuleRun.objects.exists()

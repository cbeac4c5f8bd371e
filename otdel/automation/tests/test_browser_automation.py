"""The rule editor, the run log, "My day" and the SLA clock in a real Chromium."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from otdel.automation.models import Rule, SlaPolicy, SlaTimer
from otdel.crm import services
from otdel.crm.models import Task
from otdel.crm.tests.factories import ContactFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SLOW = 15_000


def test_head_builds_a_stage_rule_in_the_editor_and_sees_it_run(
    live_server, login_page, head, manager, pipeline
):
    invoice = pipeline.stages.get(name="Счёт выставлен")
    page = login_page(head)
    expect(page.get_by_test_id("team-day")).to_be_visible(
        timeout=SLOW
    )  # the head starts on the department's day
    page.goto(f"{live_server.url}/automation/pipelines/{pipeline.pk}/")
    form = page.get_by_test_id("rule-form")
    form.locator("input[name=name]").fill("Позвонить после счёта")
    form.locator("select[name=event]").select_option("deal.stage_entered")
    form.locator("select[name=stage]").select_option(str(invoice.pk))
    form.locator("input[name=working_time]").check()
    # Conditions: amount at least 100 000 AND (title contains "Станки" OR title contains "Лазер").
    expect(form.locator("textarea[name=conditions]")).to_be_hidden()
    form.get_by_test_id("condition-add").first.click()
    row = form.get_by_test_id("condition-row").first
    row.locator("[data-role=field]").select_option("amount")
    row.locator("[data-role=op]").select_option("gte")
    row.locator("[data-role=value]").fill("100000")
    form.get_by_test_id("group-add").click()
    group = form.get_by_test_id("condition-group")
    group.get_by_test_id("group-mode").select_option("any")
    group.get_by_test_id("condition-add").click()
    for n, word in enumerate(["Станки", "Лазер"]):
        inner = group.get_by_test_id("condition-row").nth(n)
        inner.locator("[data-role=field]").select_option("title")
        inner.locator("[data-role=op]").select_option("contains")
        inner.locator("[data-role=value]").fill(word)
    card = form.get_by_test_id("action-card").first
    card.get_by_test_id("action-kind").select_option("task")
    card.locator("[data-param=title]").fill("Позвонить по счёту")
    card.locator("[data-param=due_in_minutes]").fill("1080")
    page.get_by_test_id("rule-save").click()
    column = page.locator(f'[data-testid=rule-column][data-stage="{invoice.pk}"]')
    expect(column.get_by_test_id("rule-card")).to_have_count(1, timeout=SLOW)
    rule = Rule.objects.get()
    assert rule.conditions == [
        {"field": "amount", "op": "gte", "value": "100000"},
        {
            "any": [
                {"field": "title", "op": "contains", "value": "Станки"},
                {"field": "title", "op": "contains", "value": "Лазер"},
            ]
        },
    ]
    assert rule.actions == [
        {"action": "task", "title": "Позвонить по счёту", "due_in_minutes": 1080, "assignee": "responsible"}
    ]

    deal = services.deal_create(
        actor=manager, title="Станки", pipeline=pipeline, responsible=manager, amount="150000"
    )
    small = services.deal_create(
        actor=manager, title="Станки", pipeline=pipeline, responsible=manager, amount="500"
    )
    services.deal_move(actor=manager, deal=deal, stage=invoice)
    services.deal_move(actor=manager, deal=small, stage=invoice)
    assert (
        rule.working_time
    )  # no delay: it runs at once even at night; the task's due time counts working hours
    assert Task.objects.filter(deal=deal, title="Позвонить по счёту").count() == 1
    assert not Task.objects.filter(deal=small).exists()
    column.get_by_test_id("rule-card").click()
    expect(page.locator("[data-testid=run-row][data-outcome=done]")).to_have_count(1, timeout=SLOW)
    expect(page.locator("[data-testid=run-row][data-outcome=skipped]")).to_have_count(1, timeout=SLOW)


def test_a_bad_condition_is_refused_with_a_clear_message(live_server, login_page, head):
    page = login_page(head)
    page.goto(f"{live_server.url}/automation/rules/")
    form = page.get_by_test_id("rule-form")
    form.locator("input[name=name]").fill("Сумма")
    form.locator("select[name=event]").select_option("deal.created")
    form.get_by_test_id("condition-add").first.click()
    row = form.get_by_test_id("condition-row").first
    row.locator("[data-role=field]").select_option("amount")
    row.locator("[data-role=op]").select_option("gte")
    row.locator("[data-role=value]").fill("1000")
    card = form.get_by_test_id("action-card").first
    card.get_by_test_id("action-kind").select_option("move_stage")  # no stage chosen
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-form-errors")).to_contain_text("Action 1 › stage", timeout=SLOW)
    assert not Rule.objects.exists()
    # The editor comes back with what was entered.
    expect(page.get_by_test_id("condition-row").first.locator("[data-role=value]")).to_have_value("1000")


def test_salesperson_sees_the_day_and_the_sla_clock(live_server, login_page, manager):
    contact = ContactFactory(responsible=manager)
    Task.objects.create(
        title="Отправить договор",
        assignee=manager,
        contact=contact,
        due_at=timezone.now() - datetime.timedelta(hours=2),
    )
    lead = LeadFactory(contact=contact, responsible=manager)
    policy = SlaPolicy.objects.create(name="Ответ за 15 минут", target="first_response", minutes=15)
    now = timezone.now()
    SlaTimer.objects.create(
        policy=policy,
        lead=lead,
        key="k",
        started_at=now,
        due_at=now + datetime.timedelta(minutes=15),
        state="warned",
    )
    page = login_page(manager)
    overdue = page.get_by_test_id("my-day-overdue")
    expect(overdue).to_contain_text("Отправить договор", timeout=SLOW)
    expect(
        page.get_by_test_id("my-day-waiting").locator("[data-testid=sla-clock][data-state=warned]")
    ).to_be_visible()
    overdue.get_by_role("button").first.click()
    expect(page.get_by_test_id("my-day-overdue")).not_to_contain_text("Отправить договор", timeout=SLOW)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.locator("[data-testid=card-sla] [data-state=warned]")).to_be_visible(timeout=SLOW)

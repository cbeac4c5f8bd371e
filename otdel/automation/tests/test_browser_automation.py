"""The rule editor, the run log, "My day" and the SLA clock in a real Chromium."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from otdel.automation.models import SlaPolicy, SlaTimer
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
    form.locator("select[name=action]").select_option("task")
    form.locator("input[name=title]").fill("Позвонить по счёту")
    form.locator("input[name=due_in_minutes]").fill("1080")
    page.get_by_test_id("rule-save").click()
    column = page.locator(f'[data-testid=rule-column][data-stage="{invoice.pk}"]')
    expect(column.get_by_test_id("rule-card")).to_have_count(1, timeout=SLOW)

    deal = services.deal_create(actor=manager, title="Станки", pipeline=pipeline, responsible=manager)
    services.deal_move(actor=manager, deal=deal, stage=invoice)
    assert Task.objects.filter(deal=deal, title="Позвонить по счёту").count() == 1
    column.get_by_test_id("rule-card").click()
    expect(page.locator("[data-testid=run-row][data-outcome=done]")).to_have_count(1, timeout=SLOW)


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

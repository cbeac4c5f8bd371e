"""The reports in a real Chromium: a chart drawn, a figure clicked down to its records, filters kept in
the URL, and the head of sales told when records behind a figure are outside their access."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from otdel.crm import services
from otdel.crm.tests.factories import ContactFactory, LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


def test_funnel_chart_and_drill_down(live_server, login_page, head, manager, pipeline):
    stages = list(pipeline.stages.order_by("order"))
    for n in range(3):
        deal = services.deal_create(
            actor=manager, title=f"Поставка {n}", pipeline=pipeline, contact=ContactFactory(), amount="1000"
        )
        if n < 2:
            services.deal_move(actor=manager, deal=deal, stage=stages[1])
    page = login_page(head)
    page.goto(f"{live_server.url}/reports/")
    page.click('[data-testid="report-funnel"]')
    expect(page.locator('[data-testid="report-title"]')).to_have_text("Funnel and conversion", timeout=SLOW)
    expect(page.locator('[data-testid="report-chart"][data-ready="1"]')).to_be_attached(timeout=SLOW)
    expect(page.locator('[data-testid="reached-0"]')).to_have_text("3")
    expect(page.locator('[data-testid="reached-1"]')).to_have_text("2")

    page.fill('input[name="utm_source"]', "none-such")
    page.click('[data-testid="filter-form"] button[type=submit]')
    expect(page).to_have_url(re.compile(r"utm_source=none-such"), timeout=SLOW)
    expect(page.locator('[data-testid="reached-0"]')).to_have_text("0")

    page.go_back()
    page.click('[data-testid="reached-1"]')
    expect(page.locator('[data-testid="drill-table"] tbody tr')).to_have_count(2, timeout=SLOW)
    expect(page.locator('[data-testid="drill-table"]')).to_contain_text("Поставка 0")


def test_head_sees_non_target_count_and_is_told_the_records_are_hidden(live_server, login_page, head):
    LeadFactory(channel="call", source="call", verdict="non_target", verdict_reason="supplier")
    LeadFactory(channel="call", source="call")
    page = login_page(head)
    page.goto(f"{live_server.url}/reports/traffic/")
    expect(page.locator('[data-testid="traffic-non-target"]')).to_have_text("1", timeout=SLOW)
    page.click('[data-testid="non-target-0"]')
    expect(page.locator('[data-testid="drill-hidden"]')).to_contain_text("1 more record", timeout=SLOW)
    expect(page.locator('[data-testid="drill-table"] tbody tr')).to_contain_text("No records.")

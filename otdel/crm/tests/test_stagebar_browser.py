"""The deal card's stage bar in a real Chromium: one click moves the deal; a lost stage asks for the
reason; a required checklist item (kb) refuses the move with its message (issue 15)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from otdel.crm import services
from otdel.crm.models import Deal, Stage
from otdel.crm.tests.factories import LostReasonFactory
from otdel.kb import services as kb_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


def step(page, stage):
    return page.locator(f'[data-testid="stage-bar-step"][data-stage-id="{stage.pk}"]')


def test_one_click_moves_the_deal_and_lost_asks_for_a_reason(live_server, login_page, manager, pipeline):
    LostReasonFactory(name="Дорого")
    first, second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[:2]
    lost = pipeline.stages.get(kind=Stage.Kind.LOST)
    deal = services.deal_create(actor=manager, title="Поставка", pipeline=pipeline, stage=first, amount="1")
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    expect(step(page, first)).to_have_attribute("aria-current", "step")

    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        step(page, second).click()
    assert moved.value.status == 200
    expect(step(page, second)).to_have_attribute("aria-current", "step", timeout=SLOW)
    expect(page.get_by_test_id("deal-stage")).to_have_text(second.name)
    assert Deal.objects.get(pk=deal.pk).stage == second

    step(page, lost).click()
    modal = page.get_by_test_id("lost-modal")
    expect(modal).to_be_visible(timeout=SLOW)
    modal.get_by_role("button", name="Cancel").first.click()  # changed their mind: nothing moves
    expect(modal).to_be_hidden(timeout=SLOW)
    assert Deal.objects.get(pk=deal.pk).stage == second

    step(page, lost).click()
    expect(modal).to_be_visible(timeout=SLOW)
    modal.get_by_test_id("lost-confirm").click()
    expect(modal.locator("#lost-reason")).to_have_class(re.compile("is-invalid"))
    modal.locator("#lost-reason").select_option(label="Дорого")
    modal.locator("#lost-comment").fill("Нашли дешевле")
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        modal.get_by_test_id("lost-confirm").click()
    assert moved.value.status == 200
    expect(step(page, lost)).to_have_attribute("aria-current", "step", timeout=SLOW)
    deal.refresh_from_db()
    assert deal.stage == lost and deal.lost_reason.name == "Дорого" and deal.lost_comment == "Нашли дешевле"


def test_a_required_checklist_item_refuses_the_move_with_its_message(
    live_server, login_page, manager, head, pipeline
):
    first, second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[:2]
    kb_services.article_create(
        actor=head,
        title="Первый звонок",
        body="Позвоните клиенту в течение 15 минут.",
        status="published",
        stages=[first],
        checklist=[{"text": "Перезвонить за 15 минут", "required": True}],
    )
    deal = services.deal_create(actor=manager, title="Поставка", pipeline=pipeline, stage=first, amount="1")
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        step(page, second).click()
    assert moved.value.status == 409
    error = page.get_by_test_id("stage-bar-error")
    expect(error).to_contain_text("Перезвонить за 15 минут", timeout=SLOW)
    expect(step(page, first)).to_have_attribute("aria-current", "step")
    assert Deal.objects.get(pk=deal.pk).stage == first

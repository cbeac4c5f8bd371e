"""The deals board as a salesperson sees it (issue 15): columns of a fixed width, six stages at
1440 px, cards with the next task / overdue / "no task" and the last activity, no own name, one
column with a stage switcher on a phone, quick add at the top of a column. A real Chromium."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from otdel.crm import services
from otdel.crm.models import Deal, Stage
from otdel.crm.tests.factories import PipelineFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000
SEVEN = [
    ("Новая заявка", "open"),
    ("Квалификация потребности и бюджета клиента", "open"),  # a long title: cut, not wrapped
    ("Коммерческое предложение", "open"),
    ("Переговоры", "open"),
    ("Счёт выставлен", "open"),
    ("Успешно", "won"),
    ("Проиграна", "lost"),
]


@pytest.fixture
def board(manager, other_manager):
    pipeline = PipelineFactory(name="Продажи", stages=SEVEN)
    first = pipeline.stages.order_by("order").first()
    now = timezone.now()
    overdue = services.deal_create(actor=manager, title="Просроченная", pipeline=pipeline, stage=first)
    services.task_create(
        actor=manager, title="Позвонить", deal=overdue, due_at=now - datetime.timedelta(hours=2)
    )
    planned = services.deal_create(actor=manager, title="С задачей", pipeline=pipeline, stage=first)
    services.task_create(
        actor=manager, title="Встреча", deal=planned, due_at=now + datetime.timedelta(days=1)
    )
    bare = services.deal_create(
        actor=manager, title="Без задачи " + "очень длинное название " * 5, pipeline=pipeline, stage=first
    )
    colleague = services.deal_create(
        actor=other_manager, title="Чужая", pipeline=pipeline, stage=first, responsible=other_manager
    )
    return pipeline, {"overdue": overdue, "planned": planned, "bare": bare, "colleague": colleague}


def card(page, deal):
    return page.locator(f'[data-deal-id="{deal.pk}"]')


def test_board_at_1440_shows_six_fixed_columns_and_task_state(live_server, login_page, manager, head, board):
    pipeline, deals = board
    page = login_page(manager)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/deals/?pipeline={pipeline.pk}")
    columns = page.get_by_test_id("kanban-column")
    expect(columns).to_have_count(7, timeout=SLOW)
    widths = {round(c.bounding_box()["width"]) for c in columns.all()}
    assert len(widths) == 1, widths  # a long stage title does not widen its column
    visible = sum(1 for c in columns.all() if c.bounding_box()["x"] + c.bounding_box()["width"] <= 1440)
    assert 5 <= visible <= 6, visible
    title = page.get_by_test_id("kanban-column-title").nth(1)
    assert title.evaluate("e => e.scrollWidth > e.clientWidth")  # truncated with an ellipsis
    assert card(page, deals["bare"]).bounding_box()["height"] < 200  # a long deal title is cut too

    overdue = card(page, deals["overdue"]).get_by_test_id("card-task")
    expect(overdue).to_have_attribute("data-overdue", "1")
    expect(overdue).to_contain_text("Overdue")
    assert "rgb(220, 53, 69)" in overdue.evaluate("e => getComputedStyle(e).color")  # red
    expect(card(page, deals["planned"]).get_by_test_id("card-task")).to_have_attribute("data-overdue", "0")
    expect(card(page, deals["bare"]).get_by_test_id("card-no-task")).to_contain_text("No task")
    expect(card(page, deals["planned"]).get_by_test_id("card-activity")).to_contain_text("just now")
    # The manager's own board does not repeat their name on every card.
    expect(card(page, deals["planned"]).get_by_test_id("card-responsible")).to_have_count(0)

    page.context.clear_cookies()
    page = login_page(head)  # the head of sales sees whose deal each one is
    page.goto(f"{live_server.url}/deals/?pipeline={pipeline.pk}")
    expect(card(page, deals["colleague"]).get_by_test_id("card-responsible")).to_contain_text(
        str(deals["colleague"].responsible)
    )


def test_phone_shows_one_column_with_a_stage_switcher(live_server, login_page, manager, board):
    pipeline, deals = board
    page = login_page(manager)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/deals/?pipeline={pipeline.pk}")
    switcher = page.get_by_test_id("kanban-stage-switcher")
    expect(switcher).to_be_visible(timeout=SLOW)
    columns = page.get_by_test_id("kanban-column")
    expect(columns.locator("visible=true")).to_have_count(1)
    first = columns.first
    box = first.bounding_box()
    assert box["width"] > 300 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(card(page, deals["overdue"])).to_be_visible()

    third = pipeline.stages.order_by("order")[2]
    switcher.select_option(str(third.pk))
    expect(columns.locator("visible=true")).to_have_count(1)
    expect(page.locator(f'.kanban-column[data-stage-id="{third.pk}"]')).to_be_visible()
    expect(card(page, deals["overdue"])).to_be_hidden()


def test_quick_add_puts_a_new_deal_at_the_top_of_the_column(live_server, login_page, manager, board):
    pipeline, deals = board
    second = pipeline.stages.order_by("order")[1]
    services.deal_create(actor=manager, title="Уже была", pipeline=pipeline, stage=second)
    page = login_page(manager)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/deals/?pipeline={pipeline.pk}")
    column = page.locator(f'.kanban-column[data-stage-id="{second.pk}"]')
    column.get_by_test_id("kanban-quick-add-toggle").click()
    form = column.get_by_test_id("kanban-quick-add")
    expect(form).to_be_visible()
    form.locator("input[name=title]").fill("Срочная поставка")
    form.locator("input[name=amount]").fill("250 000")
    form.get_by_role("button", name="Add").click()
    expect(column.get_by_test_id("deal-card").first).to_contain_text("Срочная поставка", timeout=SLOW)
    expect(column.locator('[data-role="count"]')).to_have_text("2", timeout=SLOW)
    deal = Deal.objects.get(title="Срочная поставка")
    assert deal.stage == second and deal.responsible == manager and deal.amount == 250000

    form.locator("input[name=amount]").fill("много")
    form.locator("input[name=title]").fill("Ошибочная")
    form.get_by_role("button", name="Add").click()
    expect(form.locator('[data-role="quick-add-error"]')).to_contain_text("Enter a number", timeout=SLOW)
    assert not Deal.objects.filter(title="Ошибочная").exists()
    assert Stage.objects.filter(pipeline=pipeline).count() == 7

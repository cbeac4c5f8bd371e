"""In a real Chromium: "My day" lists a regulation to read, one click opens it, confirming takes it
off the list; the head sees it in the regulations report and drills into who has not read it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.kb import services as kb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000


def test_regulation_from_my_day_to_the_report(live_server, login_page, head, manager, other_manager):
    article = kb.article_create(
        actor=head,
        title="Скрипт первого звонка",
        body="Поздоровайтесь.",
        status="published",
        ack_roles=["sales_manager"],
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/my-day/")
    block = page.get_by_test_id("my-day-regulations")
    expect(block).to_contain_text("Скрипт первого звонка", timeout=SLOW)
    block.get_by_test_id("my-day-regulation").click()
    expect(page.get_by_test_id("kb-body")).to_contain_text("Поздоровайтесь", timeout=SLOW)
    page.get_by_test_id("kb-ack").click()
    expect(page.get_by_test_id("kb-ack-done")).to_be_visible(timeout=SLOW)
    page.goto(f"{live_server.url}/my-day/")
    expect(page.get_by_test_id("my-day-regulations")).to_have_count(0)
    page.context.clear_cookies()

    page = login_page(head)
    page.goto(f"{live_server.url}/reports/regulations/")
    row = page.get_by_test_id("ack-row").filter(has_text="Скрипт первого звонка")
    expect(row.get_by_test_id("ack-read")).to_have_text("1", timeout=SLOW)
    row.get_by_test_id("ack-pending").click()
    people = page.get_by_test_id("drill-person")
    expect(people).to_have_count(1, timeout=SLOW)
    expect(people.first).to_contain_text(other_manager.get_full_name())
    assert article.acknowledgements.filter(user=manager, number=1).exists()

"""The top-bar search in a real Chromium: suggestions as you type, the match marked, the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from otdel.crm import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


def test_top_bar_suggests_as_you_type_and_opens_the_chosen_one_with_the_keyboard(
    live_server, login_page, manager
):
    services.contact_create(actor=manager, full_name="Смирнова Ольга", responsible=manager)
    wanted = services.contact_create(
        actor=manager,
        full_name="Киселёва Анна",
        responsible=manager,
        identities=[("phone", "+7 967 484-23-34")],
    )
    page = login_page(manager)
    box = page.get_by_test_id("global-search")
    box.press_sequentially("кисилева", delay=40)  # with a typo, without ё
    menu = page.get_by_test_id("search-suggest")
    expect(menu).to_be_visible(timeout=SLOW)
    first = menu.get_by_test_id("suggest-contacts").first
    expect(first).to_contain_text("Киселёва Анна", timeout=SLOW)
    expect(first.locator("mark")).to_have_text("Киселёва")
    box.press("ArrowDown")
    expect(first).to_have_class(re.compile(r"\bactive\b"))
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/contacts/{wanted.pk}/$"), timeout=SLOW)

    # The last digits of a phone with separators; Esc closes the list.
    box = page.get_by_test_id("global-search")
    box.fill("")
    box.press_sequentially("484-23-34", delay=40)
    menu = page.get_by_test_id("search-suggest")
    expect(menu.get_by_test_id("suggest-contacts").first.locator("mark")).to_have_text(
        "484-23-34", timeout=SLOW
    )
    box.press("Escape")
    expect(menu).to_be_hidden()


def test_nothing_found_says_so(live_server, login_page, manager):
    page = login_page(manager)
    page.get_by_test_id("global-search").press_sequentially("Щукарь", delay=40)
    expect(page.get_by_test_id("search-suggest-empty")).to_be_visible(timeout=SLOW)


def test_a_phone_shows_its_client_and_then_their_deals_in_keyboard_order(
    live_server, login_page, manager, pipeline
):
    client = services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        responsible=manager,
        identities=[("phone", "+7 916 555-12-34")],
    )
    deal = services.deal_create(
        actor=manager, title="Поставка фрез", pipeline=pipeline, contact=client, responsible=manager
    )
    page = login_page(manager)
    box = page.get_by_test_id("global-search")
    box.press_sequentially("8 916 555 12 34", delay=40)
    menu = page.get_by_test_id("search-suggest")
    expect(menu.get_by_test_id("suggest-contacts").first).to_contain_text("Петров Пётр", timeout=SLOW)
    # the client's deal arrives after them (a second request), below them and above "All results"
    deals = menu.get_by_test_id("suggest-deals")
    expect(deals.first).to_contain_text("Поставка фрез", timeout=SLOW)
    expect(menu.get_by_test_id("suggest-rest")).to_have_count(0)
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(deals.first).to_have_class(re.compile(r"\bactive\b"))
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/deals/{deal.pk}/$"), timeout=SLOW)

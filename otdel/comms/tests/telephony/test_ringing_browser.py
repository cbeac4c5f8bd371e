"""The ringing call on screen in a real Chromium: a PBX event posted to the real webhook puts a card
on the salesperson's open page within a second, and the card follows the call."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from otdel.accounts.services import user_token_issue
from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Lead
from otdel.crm.tests.factories import CompanyFactory, DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


@pytest.fixture(autouse=True)
def _fresh_reader():
    from otdel.live.hub import hub

    hub.reset()  # the database was emptied since an earlier test's streams moved the cursor


def _pbx(live_server, integration_user):
    token = user_token_issue(user=integration_user)

    def post(payload: dict) -> float:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/telephony/events",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
            method="POST",
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        return started

    return post


def _open_and_listen(live_server, login_page, user):
    page = login_page(user)
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator("html[data-live-connected='1']")).to_have_count(1, timeout=SLOW)
    return page


def test_a_known_client_rings_then_the_card_follows_the_call(
    live_server, login_page, manager, integration_user
):
    company = CompanyFactory(name="ООО Станкопром")
    contact = crm_services.contact_create(
        actor=manager,
        full_name="Смирнова Ольга",
        identities=[("phone", "+79161234567")],
        responsible=manager,
        company=company,
    )
    DealFactory(title="Поставка станка", contact=contact, responsible=manager)
    page = _open_and_listen(live_server, login_page, manager)
    post = _pbx(live_server, integration_user)
    call = {"call_id": "ring-1", "direction": "in", "caller": "8 916 123-45-67", "called": "+74951234567"}

    started = post({**call, "event": "ringing", "extension": "101"})
    card = page.get_by_test_id("ringing-card")
    expect(card).to_be_visible(timeout=SLOW)
    latency = time.monotonic() - started
    print(f"\nevent -> card on screen: {latency * 1000:.0f} ms")
    expect(card).to_have_attribute("data-state", "ringing")
    expect(card.get_by_test_id("ringing-contact")).to_contain_text("Смирнова Ольга")
    expect(card.get_by_test_id("ringing-company")).to_contain_text("ООО Станкопром")
    expect(card.get_by_test_id("ringing-deals")).to_contain_text("Поставка станка")

    post({**call, "event": "answered", "extension": "101"})
    expect(card).to_have_attribute("data-state", "answered", timeout=SLOW)
    # A repeated, late "ringing" does not move the card back.
    post({**call, "event": "ringing", "extension": "101"})
    post({**call, "event": "ended", "status": "answered", "duration": 42})
    expect(card).to_have_attribute("data-state", "ended", timeout=SLOW)
    expect(card.get_by_test_id("ringing-state")).to_have_text("Call ended")
    page.wait_for_timeout(500)
    expect(card).to_have_attribute("data-state", "ended")
    expect(page.get_by_test_id("ringing-card")).to_have_count(1)

    card.get_by_test_id("ringing-timeline").click()
    page.wait_for_url(f"**/contacts/{contact.pk}/**")
    expect(page.get_by_test_id("timeline-item").first).to_have_attribute("data-channel", "call", timeout=SLOW)


def test_a_new_number_offers_one_click_to_a_lead_and_a_missed_call_shows(
    live_server, login_page, manager, other_manager, integration_user
):
    page = _open_and_listen(live_server, login_page, manager)
    post = _pbx(live_server, integration_user)
    call = {"call_id": "ring-2", "direction": "in", "caller": "+7 925 000-11-22", "called": "+74951234567"}
    post({**call, "event": "ringing", "extension": "101"})
    card = page.get_by_test_id("ringing-card")
    expect(card.get_by_test_id("ringing-new")).to_be_visible(timeout=SLOW)
    post({**call, "event": "ended", "status": "missed"})
    expect(card).to_have_attribute("data-state", "ended", timeout=SLOW)
    expect(card).to_have_attribute("data-status", "missed")
    expect(card.get_by_test_id("ringing-state")).to_have_text("Missed call")

    card.locator("input[name=full_name]").fill("Козлов Андрей")
    card.get_by_test_id("ringing-create-lead").click()
    page.wait_for_url("**/leads/*/", timeout=SLOW)
    contact = Contact.objects.get(identities__value="+79250001122")
    assert contact.full_name == "Козлов Андрей"
    assert Lead.objects.filter(contact=contact).exclude(status=Lead.Status.CLOSED).count() == 1

"""The bell in a real Chromium: the count, the list, opening one goes to the client's card."""

import pytest
from playwright.sync_api import expect

from otdel.automation.services import notify
from otdel.crm import services as crm_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


def test_the_bell_leads_to_the_card(live_server, login_page, manager):
    contact = crm_services.contact_create(
        actor=manager, full_name="Петров Пётр", identities=[("phone", "+79123456789")], responsible=manager
    )
    for k, title in enumerate(["E-mail from Петров Пётр: Сроки", "Telegram from Петров Пётр"]):
        notify(user=manager, kind="inbound", key=f"test:{k}", title=title, url=f"/contacts/{contact.pk}/")
    page = login_page(manager)
    page.goto(f"{live_server.url}/contacts/")
    expect(page.get_by_test_id("notification-count")).to_have_text("2", timeout=SLOW)
    page.get_by_test_id("notification-bell").click()
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(2, timeout=SLOW)
    items.filter(has_text="Сроки").click()
    page.wait_for_url(f"**/contacts/{contact.pk}/", timeout=SLOW)
    expect(page.get_by_test_id("notification-count")).to_have_text("1", timeout=SLOW)
    page.get_by_test_id("notification-bell").click()
    page.get_by_test_id("notifications-read-all").click()
    expect(page.get_by_test_id("notification-count")).to_have_count(0, timeout=SLOW)


def test_a_new_notification_reaches_the_open_bell_through_the_live_stream(
    live_server, login_page, manager, monkeypatch
):
    from otdel.live.hub import hub

    hub.reset()  # the database was emptied since an earlier test's streams moved the cursor
    monkeypatch.setattr("otdel.web.context_processors.BELL_POLL_SECONDS", 3600)  # no polling to help
    page = login_page(manager)
    page.goto(f"{live_server.url}/contacts/")
    expect(page.locator("html[data-live-connected='1']")).to_have_count(1, timeout=SLOW)
    expect(page.get_by_test_id("notification-count")).to_have_count(0)
    notify(user=manager, kind="inbound", key="live:1", title="Telegram from Петров Пётр", url="/contacts/")
    expect(page.get_by_test_id("notification-count")).to_have_text("1", timeout=SLOW)

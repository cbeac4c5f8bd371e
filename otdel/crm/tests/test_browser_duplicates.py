"""The lead inbox's "Duplicate" picker in a real Chromium: pick the contact, the lead is merged."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.crm import services
from otdel.crm.models import Contact, Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


def test_a_lead_triaged_as_a_duplicate_of_a_picked_contact_is_merged(live_server, login_page, head):
    known = services.contact_create(
        actor=head, full_name="Петров Пётр", identities=[("phone", "+79123456789")], responsible=head
    )
    newcomer = services.contact_create(
        actor=head, full_name="Пётр П.", identities=[("email", "pp@client.ru")]
    )
    lead = services.lead_create(
        actor=head, contact=newcomer, source="email", channel="email", comment="Снова я"
    )
    page = login_page(head)
    page.goto(f"{live_server.url}/leads/")
    row = page.locator(f"#lead-row-{lead.pk}")
    expect(row).to_contain_text("Снова я", timeout=SLOW)

    search = row.locator("[data-picker] input[type=search]")
    search.fill("Петров")
    row.get_by_test_id("pick-result").first.click()
    # The picker stays, with the chosen contact in it.
    expect(search).to_be_visible()
    expect(search).to_have_value("Петров Пётр")
    expect(row.locator("[data-picker] input[type=hidden]")).to_have_value(str(known.pk))
    row.get_by_test_id("triage-duplicate").click()

    expect(page.locator(f"#lead-row-{lead.pk}").get_by_test_id("triage-result")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("triage-error")).to_have_count(0)
    lead.refresh_from_db()
    assert lead.verdict == "duplicate"
    assert Contact.objects.get(pk=newcomer.pk).merged_into_id == known.pk
    assert Lead.objects.get(pk=lead.pk).duplicate_of_id == known.pk

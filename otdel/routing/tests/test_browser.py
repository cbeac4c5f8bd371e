"""Marking a contact non-target and restoring it from the contact card, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Lead
from otdel.routing.nontarget import contact_restore_target
from otdel.routing.triage import lead_triage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Waits that include a round trip to the live server: generous, since CI machines are small and busy.
SLOW = 15_000


def test_office_manager_marks_a_supplier_non_target_and_restores_it(live_server, login_page, office_manager):
    contact = crm_services.contact_create(
        actor=office_manager, full_name="Снабженец Сидор", identities=[("phone", "+79123456789")]
    )
    lead = crm_services.lead_create(actor=office_manager, contact=contact, source="call", channel="call")
    lead_triage(actor=office_manager, lead=lead, verdict="non_target", reason="supplier")
    contact_restore_target(actor=office_manager, contact=Contact.objects.get(pk=contact.pk))

    page = login_page(office_manager)
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    # The badge beside the name on the card's header.
    badge = page.locator('[data-testid="contact-name"] ~ .badge', has_text="Non-target")
    expect(page.get_by_test_id("contact-name")).to_have_text("Снабженец Сидор", timeout=SLOW)
    expect(badge).to_have_count(0)

    page.get_by_test_id("mark-non-target").click()
    page.get_by_test_id("non-target-reason-supplier").click()
    expect(badge).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("non-target-reason")).to_contain_text("Supplier")
    assert Contact.objects.get(pk=contact.pk).non_target_reason == "supplier"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("restore-target").click()
    expect(page.get_by_test_id("mark-non-target")).to_be_visible(timeout=SLOW)
    expect(badge).to_have_count(0)
    expect(page.locator(".alert-success")).to_contain_text("target client again")
    assert not Contact.objects.get(pk=contact.pk).non_target
    assert Lead.objects.get(pk=lead.pk).verdict == ""

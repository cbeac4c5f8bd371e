"""The contact card in a real Chromium: every channel on one timeline, the channel chips, a note from the reply box."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from otdel.comms.selectors import TIMELINE_PAGE
from otdel.comms.services import InboundEvent, ingest_event
from otdel.crm import services as crm_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Waits that include a round trip to the live server: generous, since CI machines are small and busy.
SLOW = 15_000


@pytest.fixture
def client_with_history(manager):
    """One person who called, wrote an e-mail, a Telegram message and filled a form, an hour apart."""
    contact = crm_services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        identities=[("phone", "+79123456789"), ("email", "petrov@client.ru"), ("telegram", "422110")],
        responsible=manager,
    )
    start = timezone.now() - datetime.timedelta(hours=5)
    events = [
        InboundEvent(
            provider="generic",
            external_id="call-1",
            kind="call",
            channel="call",
            occurred_at=start,
            identity_kind="phone",
            identity_value="8 912 345-67-89",
            call_event="ended",
            call_status="answered",
            duration=65,
        ),
        InboundEvent(
            provider="email:1",
            external_id="<q1@client.ru>",
            kind="email",
            channel="email",
            occurred_at=start + datetime.timedelta(hours=1),
            identity_kind="email",
            identity_value="petrov@client.ru",
            subject="Сроки поставки",
            body="Когда отгрузите станок?",
        ),
        InboundEvent(
            provider="telegram:sales",
            external_id="422110:1",
            kind="message",
            channel="telegram",
            occurred_at=start + datetime.timedelta(hours=2),
            identity_kind="telegram",
            identity_value="422110",
            body="Пишу в Телеграм",
        ),
        InboundEvent(
            provider="form:contact",
            external_id="f-1",
            kind="form",
            channel="form",
            occurred_at=start + datetime.timedelta(hours=3),
            identity_kind="phone",
            identity_value="+79123456789",
            subject="Заявка с сайта",
            payload={"form": "contact", "fields": {"message": "Нужен станок"}, "utm_source": "yandex"},
        ),
    ]
    for event in events:
        assert ingest_event(event).interaction.contact_id == contact.pk
    return contact


def test_card_timeline_filters_and_note(live_server, login_page, manager, client_with_history):
    contact = client_with_history
    page = login_page(manager)
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")

    timeline = page.get_by_test_id("timeline")
    items = timeline.get_by_test_id("timeline-item")
    expect(items).to_have_count(4, timeout=SLOW)
    assert [items.nth(i).get_attribute("data-channel") for i in range(4)] == [
        "form",
        "telegram",
        "email",
        "call",
    ]
    expect(items.nth(0)).to_contain_text("Нужен станок")
    expect(items.nth(0)).to_contain_text("yandex")
    expect(items.nth(1)).to_contain_text("Пишу в Телеграм")
    expect(items.nth(2)).to_contain_text("Сроки поставки")
    expect(items.nth(3)).to_contain_text("01:05")

    page.locator('[data-channel-filter="call"]').click()
    expect(page.locator('#comms-timeline[data-channel="call"]')).to_be_visible(timeout=SLOW)
    expect(items).to_have_count(1, timeout=SLOW)
    expect(items.first).to_have_attribute("data-channel", "call")
    page.locator('[data-channel-filter="email"]').click()
    expect(page.locator('#comms-timeline[data-channel="email"]')).to_be_visible(timeout=SLOW)
    expect(items).to_have_count(1, timeout=SLOW)
    expect(items.first).to_contain_text("Сроки поставки")
    page.locator('[data-channel-filter="all"]').click()
    expect(items).to_have_count(4, timeout=SLOW)

    reply = page.get_by_test_id("reply-box")
    reply.get_by_test_id("reply-tab-note").click()
    note_form = reply.get_by_test_id("reply-note-form")
    expect(note_form).to_be_visible(timeout=SLOW)
    note_form.locator("textarea").fill("Договорились созвониться в пятницу")
    note_form.get_by_test_id("save-note").click()

    expect(page.get_by_test_id("reply-done")).to_be_visible(timeout=SLOW)
    expect(items).to_have_count(5, timeout=SLOW)
    expect(items.first).to_have_attribute("data-channel", "note")
    expect(items.first).to_contain_text("Договорились созвониться в пятницу")
    assert contact.notes.get().body == "Договорились созвониться в пятницу"


def test_a_long_history_opens_page_by_page(live_server, login_page, manager):
    contact = crm_services.contact_create(
        actor=manager, full_name="Давний клиент", identities=[("phone", "+79123450000")], responsible=manager
    )
    start = timezone.now() - datetime.timedelta(days=200)
    for k in range(TIMELINE_PAGE + 10):
        ingest_event(
            InboundEvent(
                provider="generic",
                external_id=f"old-{k}",
                kind="call",
                channel="call",
                occurred_at=start + datetime.timedelta(days=k),
                identity_kind="phone",
                identity_value="+79123450000",
                call_event="ended",
                call_status="answered",
                duration=125 if k == 0 else 30,
            )
        )
    page = login_page(manager)
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    items = page.get_by_test_id("timeline").get_by_test_id("timeline-item")
    expect(items).to_have_count(TIMELINE_PAGE, timeout=SLOW)
    page.get_by_test_id("timeline-more").click()
    expect(items).to_have_count(TIMELINE_PAGE + 10, timeout=SLOW)
    expect(page.get_by_test_id("timeline-more")).to_have_count(0)
    expect(items.last).to_contain_text("02:05")  # the very first call

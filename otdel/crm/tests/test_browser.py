"""The CRM in a real Chromium: dragging deals on the board, triaging a lead, searching by phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from otdel.crm import services
from otdel.crm.models import Deal, Lead, Stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Waits that include a round trip to the live server: generous, since CI machines are small and busy.
SLOW = 15_000


def drag(page, source, target) -> None:
    """Drag with real mouse steps: SortableJS runs in fallback (mouse-event) mode."""
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + start["height"] / 2 + 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 24, steps=5)
    page.mouse.up()


def test_deal_dragged_to_another_column_stays_there_after_reload(live_server, login_page, manager, pipeline):
    first, second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[:2]
    deal = services.deal_create(
        actor=manager, title="Поставка станков", pipeline=pipeline, stage=first, amount="1500000"
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/")
    card = page.locator(f'[data-deal-id="{deal.pk}"]')
    target = page.locator(f"#kanban-cards-{second.pk}")
    expect(card).to_be_visible(timeout=SLOW)

    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        drag(page, card, target)
    assert moved.value.status == 200
    second_column = page.locator(f'.kanban-column[data-stage-id="{second.pk}"]')
    expect(second_column.locator('[data-role="count"]')).to_have_text("1", timeout=SLOW)
    expect(second_column.locator('[data-role="total"]')).to_contain_text("1,500,000", timeout=SLOW)

    page.reload()
    expect(page.locator(f'#kanban-cards-{second.pk} [data-deal-id="{deal.pk}"]')).to_be_visible(timeout=SLOW)
    expect(page.locator(f'#kanban-cards-{first.pk} [data-deal-id="{deal.pk}"]')).to_have_count(
        0, timeout=SLOW
    )
    assert Deal.objects.get(pk=deal.pk).stage_id == second.pk


def test_drop_on_lost_asks_for_a_reason_and_cancel_puts_the_card_back(
    live_server, login_page, manager, pipeline
):
    from otdel.crm.tests.factories import LostReasonFactory

    LostReasonFactory(name="Дорого")
    first = pipeline.stages.order_by("order").first()
    lost = pipeline.stages.get(kind=Stage.Kind.LOST)
    deal = services.deal_create(
        actor=manager, title="Сомнительная", pipeline=pipeline, stage=first, amount="1"
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/")

    drag(page, page.locator(f'[data-deal-id="{deal.pk}"]'), page.locator(f"#kanban-cards-{lost.pk}"))
    modal = page.get_by_test_id("lost-modal")
    expect(modal).to_be_visible(timeout=SLOW)
    modal.get_by_role("button", name="Cancel").first.click()
    expect(modal).to_be_hidden(timeout=SLOW)
    expect(page.locator(f'#kanban-cards-{first.pk} [data-deal-id="{deal.pk}"]')).to_be_visible(timeout=SLOW)
    assert Deal.objects.get(pk=deal.pk).stage_id == first.pk

    drag(page, page.locator(f'[data-deal-id="{deal.pk}"]'), page.locator(f"#kanban-cards-{lost.pk}"))
    expect(modal).to_be_visible(timeout=SLOW)
    modal.get_by_test_id("lost-confirm").click()  # no reason chosen: refused in the dialog
    expect(modal.locator("#lost-reason")).to_have_class(re.compile("is-invalid"), timeout=SLOW)
    modal.locator("#lost-reason").select_option(label="Дорого")
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        modal.get_by_test_id("lost-confirm").click()
    assert moved.value.status == 200
    expect(page.locator(f'#kanban-cards-{lost.pk} [data-deal-id="{deal.pk}"]')).to_be_visible(timeout=SLOW)
    deal.refresh_from_db()
    assert deal.stage_id == lost.pk and deal.lost_reason.name == "Дорого"


def test_refused_move_puts_the_card_back_and_says_why(live_server, login_page, manager, pipeline):
    first, second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[:2]
    deal = services.deal_create(actor=manager, title="Спорная", pipeline=pipeline, stage=first, amount="1")
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/")
    services.deal_update(actor=manager, deal=Deal.objects.get(pk=deal.pk), title="Спорная!")  # someone else

    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        drag(page, page.locator(f'[data-deal-id="{deal.pk}"]'), page.locator(f"#kanban-cards-{second.pk}"))
    assert moved.value.status == 409
    expect(page.get_by_test_id("kanban-error")).to_contain_text("changed by someone else", timeout=SLOW)
    expect(page.locator(f'#kanban-cards-{first.pk} [data-deal-id="{deal.pk}"]')).to_be_visible(timeout=SLOW)
    assert Deal.objects.get(pk=deal.pk).stage_id == first.pk


def test_column_loads_the_next_page_when_scrolled(live_server, login_page, manager, pipeline):
    first = pipeline.stages.order_by("order").first()
    for n in range(25):
        services.deal_create(actor=manager, title=f"Сделка {n}", pipeline=pipeline, stage=first, amount="1")
    page = login_page(manager)
    page.set_viewport_size({"width": 1400, "height": 800})
    page.goto(f"{live_server.url}/deals/")
    cards = page.locator(f"#kanban-cards-{first.pk} .kanban-card")
    expect(cards).to_have_count(20, timeout=SLOW)
    page.locator(f"#kanban-more-{first.pk}").scroll_into_view_if_needed()
    expect(cards).to_have_count(25, timeout=SLOW)
    expect(page.locator(f"#kanban-more-{first.pk} button")).to_have_count(0, timeout=SLOW)
    titles = cards.all_inner_texts()
    assert len({t.splitlines()[0] for t in titles}) == 25


def test_lead_triaged_as_qualified_leaves_the_inbox_with_a_deal(live_server, login_page, manager, pipeline):
    contact = services.contact_create(
        actor=manager, full_name="Петров Пётр", identities=[("phone", "+79123456789")], responsible=manager
    )
    lead = services.lead_create(
        actor=manager, contact=contact, source="form", channel="form", comment="Нужен станок"
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/leads/")
    row = page.locator(f"#lead-row-{lead.pk}")
    expect(row).to_contain_text("Нужен станок", timeout=SLOW)

    row.get_by_test_id("triage-qualified").click()
    result = page.locator(f"#lead-row-{lead.pk}").get_by_test_id("triage-result")
    expect(result).to_contain_text("Qualified", timeout=SLOW)
    lead.refresh_from_db()
    assert lead.verdict == "qualified" and lead.deal is not None
    expect(result.get_by_test_id("triage-deal-link")).to_have_text(lead.deal.title, timeout=SLOW)

    page.reload()
    expect(page.locator(f"#lead-row-{lead.pk}")).to_have_count(0, timeout=SLOW)
    result_deal = Lead.objects.get(pk=lead.pk).deal
    assert result_deal.contact_id == contact.pk and result_deal.responsible_id == manager.pk


def test_global_search_by_a_phone_typed_differently_opens_the_contact(live_server, login_page, manager):
    contact = services.contact_create(
        actor=manager, full_name="Петров Пётр", identities=[("phone", "+79123456789")], responsible=manager
    )
    page = login_page(manager)
    box = page.get_by_test_id("global-search")
    box.fill("8 912 345-67-89")
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/contacts/{contact.pk}/$"))
    expect(page.get_by_test_id("contact-name")).to_have_text("Петров Пётр", timeout=SLOW)
    expect(page.get_by_test_id("identities")).to_contain_text("+7 912 345-67-89", timeout=SLOW)


def test_new_lead_for_a_contact_picked_by_search(live_server, login_page, manager):
    contact = services.contact_create(
        actor=manager, full_name="Петров Пётр", identities=[("phone", "+79123456789")], responsible=manager
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/leads/new/")
    page.fill("#id_contact", "Петров")
    page.get_by_test_id("pick-result").first.click()
    expect(page.locator("input[type=hidden][name=contact]")).to_have_value(str(contact.pk), timeout=SLOW)
    page.fill("textarea[name=comment]", "Повторный заказ")
    page.get_by_role("button", name="Create lead").click()
    page.wait_for_url(re.compile(r"/leads/\d+/$"))
    lead = Lead.objects.get()
    assert lead.contact_id == contact.pk and lead.comment == "Повторный заказ"


def test_a_note_added_on_a_deal_card_shows_once_on_its_timeline(live_server, login_page, manager, pipeline):
    deal = services.deal_create(actor=manager, title="Поставка станков", pipeline=pipeline, amount="1")
    services.note_create(actor=manager, deal=deal, body="Выслал КП")
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator('[data-channel="note"]')).to_have_count(1, timeout=SLOW)

    page.get_by_test_id("reply-tab-note").click()
    form = page.get_by_test_id("reply-note-form")
    form.locator("textarea").fill("Клиент согласовал сроки")
    form.get_by_test_id("save-note").click()
    expect(timeline.locator('[data-channel="note"]')).to_have_count(2, timeout=SLOW)
    expect(timeline.locator('[data-channel="note"]').first).to_contain_text("Клиент согласовал сроки")
    # Each note is on the page once: the timeline is the only place notes are listed.
    expect(page.get_by_text("Клиент согласовал сроки")).to_have_count(1)
    expect(page.get_by_text("Выслал КП")).to_have_count(1)
    assert [n.body for n in deal.notes.order_by("created_at")] == ["Выслал КП", "Клиент согласовал сроки"]

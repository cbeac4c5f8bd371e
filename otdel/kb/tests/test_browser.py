"""The knowledge base in a real Chromium: guidance on the deal card, the stage gate on a drag, the
search box as you type, the editor's live preview."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.crm import services as crm_services
from otdel.crm.models import Deal, Stage
from otdel.crm.tests.test_browser import SLOW, drag
from otdel.kb import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_deal_card_shows_what_to_do_and_the_board_refuses_an_unchecked_move(
    live_server, login_page, manager, pipeline, regulation
):
    first, second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[:2]
    deal = crm_services.deal_create(actor=manager, title="Поставка насосов", pipeline=pipeline, stage=first)
    page = login_page(manager)

    page.goto(f"{live_server.url}/deals/")
    card = page.locator(f'[data-deal-id="{deal.pk}"]')
    expect(card).to_be_visible(timeout=SLOW)
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        drag(page, card, page.locator(f"#kanban-cards-{second.pk}"))
    assert moved.value.status == 409
    expect(page.locator("#kanban-alert")).to_contain_text("Перезвонить за 15 минут", timeout=SLOW)
    expect(page.locator(f'#kanban-cards-{first.pk} [data-deal-id="{deal.pk}"]')).to_be_visible(timeout=SLOW)

    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    guidance = page.get_by_test_id("kb-guidance")
    expect(guidance).to_contain_text("Первый звонок", timeout=SLOW)
    expect(guidance).to_contain_text("Позвоните клиенту в течение 15 минут.", timeout=SLOW)
    item = guidance.get_by_test_id("kb-check-item").filter(has_text="Перезвонить за 15 минут")
    expect(item).to_have_attribute("data-done", "0")
    item.click()
    expect(page.get_by_test_id("kb-check-item").filter(has_text="Перезвонить за 15 минут")).to_have_attribute(
        "data-done", "1", timeout=SLOW
    )

    page.goto(f"{live_server.url}/deals/")
    card = page.locator(f'[data-deal-id="{deal.pk}"]')
    expect(card).to_be_visible(timeout=SLOW)
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")) as moved:
        drag(page, card, page.locator(f"#kanban-cards-{second.pk}"))
    assert moved.value.status == 200
    assert Deal.objects.get(pk=deal.pk).stage_id == second.pk


def test_search_box_finds_inflected_forms_as_you_type(live_server, login_page, manager, head):
    services.article_create(
        actor=head, title="Согласование договора", body="Договоры согласует юрист.", status="published"
    )
    services.article_create(
        actor=head, kind="faq", title="Сколько стоит доставка?", body="Бесплатно.", status="published"
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/kb/")
    page.get_by_test_id("kb-search").press_sequentially("договоров", delay=30)
    first = page.get_by_test_id("kb-hit").first
    expect(first.get_by_test_id("kb-hit-title")).to_have_text("Согласование договора", timeout=SLOW)
    expect(first.locator("mark").first).to_be_visible()
    expect(page.get_by_test_id("kb-hit")).to_have_count(1)

    page.get_by_test_id("kb-search").fill("")
    page.get_by_test_id("kb-search").press_sequentially("доставку", delay=30)
    expect(page.get_by_test_id("kb-hit-title").first).to_have_text("Сколько стоит доставка?", timeout=SLOW)


def test_editor_preview_renders_markdown_and_keeps_scripts_inert(live_server, login_page, head):
    page = login_page(head)
    page.goto(f"{live_server.url}/kb/articles/new/")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_test_id("kb-body-input").fill(
        "**Важно**\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>"
    )
    preview = page.get_by_test_id("kb-preview")
    expect(preview.locator("strong")).to_have_text("Важно", timeout=SLOW)
    expect(preview).to_contain_text("<script>alert('x')</script>")
    assert preview.locator("script, img").count() == 0
    assert dialogs == []


def test_reply_box_inserts_an_faq_answer(live_server, login_page, manager, head):
    from django.utils import timezone

    from otdel.comms.models import Interaction

    services.article_create(
        actor=head,
        kind="faq",
        title="Сколько стоит доставка по Москве?",
        body="Доставка по Москве бесплатна от 100 000 ₽.",
        status="published",
    )
    contact = crm_services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        identities=[("email", "petrov@client.ru")],
        responsible=manager,
    )
    Interaction.objects.create(
        kind="email",
        channel="email",
        direction="in",
        contact=contact,
        occurred_at=timezone.now(),
        subject="Доставка",
        body="Сколько будет стоить доставка до Москвы?",
    )
    page = login_page(manager)
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    suggestion = page.get_by_test_id("kb-faq-item").first
    expect(suggestion).to_contain_text("Сколько стоит доставка по Москве?", timeout=SLOW)
    suggestion.get_by_test_id("kb-faq-insert").click()
    expect(page.locator("#id_email-body")).to_have_value("Доставка по Москве бесплатна от 100 000 ₽.")

"""The deal card's Documents block in a real Chromium: a line item added inline, a document
generated in two clicks, its DOCX downloaded."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.documents.models import Document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000


def test_documents_block_on_the_deal_card(live_server, login_page, manager, priced_deal, invoice_template):
    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/{priced_deal.pk}/")
    block = page.get_by_test_id("deal-documents")
    expect(block.get_by_test_id("item-row")).to_have_count(2, timeout=SLOW)
    expect(block.get_by_test_id("items-total")).to_contain_text("883", timeout=SLOW)

    new = block.get_by_test_id("item-new")
    new.locator("input[name=name]").fill("Доставка")
    new.locator("input[name=price]").fill("9500")
    block.get_by_test_id("items-save").click()
    expect(block.get_by_test_id("item-row")).to_have_count(3, timeout=SLOW)
    expect(block.get_by_test_id("items-total")).to_contain_text("892", timeout=SLOW)
    expect(page.get_by_test_id("deal-amount")).to_contain_text(
        "892", timeout=SLOW
    )  # the card's amount follows
    priced_deal.refresh_from_db()
    assert str(priced_deal.amount) == "892500.00"

    block.locator("select[name=format]").select_option("docx")
    block.get_by_test_id("generate").click()
    row = block.get_by_test_id("document-row")
    expect(row.get_by_test_id("document-status")).to_have_text("Ready", timeout=SLOW)
    document = Document.objects.get()
    expect(row.get_by_test_id("document-number")).to_have_text(document.number)
    with page.expect_download() as download:
        row.get_by_test_id("download-docx").click()
    assert download.value.suggested_filename.endswith(".docx")

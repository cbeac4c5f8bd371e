"""In a real Chromium: the catalog page (add with a refused input, edit, deactivate) and the e-mail
compose dialog of a document (recipient chosen, subject and body edited, the PDF sent over SMTP)."""

# ruff: noqa: F811  (the shared e-mail fixture is imported by name; tests take it as an argument)

from __future__ import annotations

import email
import email.policy

import pytest
from playwright.sync_api import expect

from otdel.comms.models import Interaction, Mailbox
from otdel.comms.tests.email.support.fixtures import smtp_server  # noqa: F401  (fixture)
from otdel.crm.models import Identity
from otdel.documents import services
from otdel.documents.models import Document, Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000


def test_catalog_page_add_edit_deactivate(live_server, login_page, head):
    page = login_page(head)
    page.goto(f"{live_server.url}/catalog/")
    form = page.get_by_test_id("product-form")
    form.locator("input[name=sku]").fill("ST-TV16")
    form.locator("input[name=name]").fill("Станок токарный ТВ-16")
    form.locator("input[name=price]").fill("четыреста")
    form.locator("select[name=vat_rate]").select_option("20")
    form.get_by_test_id("product-add").click()
    expect(page.get_by_test_id("error-price")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("product-form").locator("input[name=name]")).to_have_value(
        "Станок токарный ТВ-16"
    )
    assert not Product.objects.exists()

    page.get_by_test_id("product-form").locator("input[name=price]").fill("450 000")
    page.get_by_test_id("product-add").click()
    row = page.locator("[data-testid=product-row][data-sku=ST-TV16]")
    expect(row).to_contain_text("450", timeout=SLOW)
    expect(row).to_have_attribute("data-active", "1")

    row.get_by_test_id("product-edit").click()
    edit = page.get_by_test_id("product-edit-form")
    edit.locator("input[name=name]").fill("Станок токарный ТВ-16М")
    edit.locator("input[name=price]").fill("465000")
    edit.get_by_test_id("product-save").click()
    row = page.locator("[data-testid=product-row][data-sku=ST-TV16]")
    expect(row).to_contain_text("ТВ-16М", timeout=SLOW)
    expect(row).to_contain_text("465", timeout=SLOW)

    row.get_by_test_id("product-deactivate").click()
    row = page.locator("[data-testid=product-row][data-sku=ST-TV16]")
    expect(row).to_have_attribute("data-active", "0", timeout=SLOW)
    expect(row.get_by_test_id("product-activate")).to_be_visible()
    product = Product.objects.get(sku="ST-TV16")
    assert (product.name, str(product.price), product.is_active) == (
        "Станок токарный ТВ-16М",
        "465000.00",
        False,
    )


def test_compose_dialog_sends_the_pdf(
    live_server, login_page, manager, priced_deal, invoice_template, smtp_server
):
    Mailbox.objects.create(
        address="sales@otdel.test",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_ssl=False,
        smtp_starttls=False,
        username="u",
        password="p",
    )
    contact = priced_deal.contact
    Identity.objects.create(contact=contact, kind="email", value="ivanov@romashka.ru", is_primary=True)
    Identity.objects.create(contact=contact, kind="email", value="buh@romashka.ru")
    document = services.document_create(
        actor=manager, deal=priced_deal, template=invoice_template, format="pdf"
    )
    document = Document.objects.get(pk=document.pk)
    assert document.status == "ready", document.error

    page = login_page(manager)
    page.goto(f"{live_server.url}/deals/{priced_deal.pk}/")
    block = page.get_by_test_id("deal-documents")
    expect(block.get_by_test_id("document-status")).to_have_text("Ready", timeout=SLOW)
    block.get_by_test_id("send").click()
    dialog = page.get_by_test_id("compose-dialog")
    expect(dialog).to_be_visible(timeout=SLOW)
    expect(dialog.get_by_test_id("compose-attachment")).to_contain_text(".pdf")
    expect(dialog.get_by_test_id("compose-subject")).to_have_value(str(document))
    dialog.get_by_test_id("compose-to").select_option("buh@romashka.ru")
    dialog.get_by_test_id("compose-subject").fill("Счёт для бухгалтерии")
    dialog.get_by_test_id("compose-body").fill("Добрый день!\nСчёт во вложении, оплата в течение 5 дней.")
    dialog.get_by_test_id("compose-send").click()
    expect(dialog.get_by_test_id("compose-sent")).to_be_visible(timeout=SLOW)
    expect(dialog).to_be_hidden(timeout=SLOW)

    message = email.message_from_bytes(smtp_server.messages[-1]["data"], policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "buh@romashka.ru"
    assert message["Subject"] == "Счёт для бухгалтерии"
    assert "оплата в течение 5 дней" in message.get_body(("plain",)).get_content()
    assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]
    assert Interaction.objects.filter(
        contact=contact, direction="out", subject="Счёт для бухгалтерии"
    ).exists()

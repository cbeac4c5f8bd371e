"""The deal card's Documents block (htmx pages): items saved inline, generation, download, e-mail
with the PDF attached over real SMTP, catalog and template pages; Russian and English."""

# ruff: noqa: F811  (the shared e-mail fixtures are imported by name; tests take them as arguments)

from __future__ import annotations

import email
import email.policy

import pytest
from django.urls import reverse
from django.utils import translation

from otdel.comms.models import Interaction, Mailbox
from otdel.comms.tests.email.support.fixtures import smtp_server  # noqa: F401  (fixture)
from otdel.crm.models import Identity
from otdel.documents import services
from otdel.documents.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, manager):
    client.force_login(manager)
    return client


def test_the_block_shows_items_and_saves_them_inline(web, priced_deal):
    response = web.get(reverse("documents_deal_block", args=[priced_deal.pk]))
    assert response.status_code == 200
    assert "Станок токарный ТВ-16" in response.content.decode()
    response = web.post(
        reverse("documents_items_save", args=[priced_deal.pk]),
        {
            "version": priced_deal.version,
            "product": ["", ""],
            "name": ["Фреза концевая", ""],
            "quantity": ["4", "1"],
            "unit": ["шт", "шт"],
            "price": ["1 250,50", ""],
            "discount_percent": ["0", "0"],
            "vat_rate": ["20", "20"],
        },
    )
    assert response.status_code == 200
    priced_deal.refresh_from_db()
    assert str(priced_deal.amount) == "5002.00"
    assert list(priced_deal.items.values_list("name", flat=True)) == ["Фреза концевая"]
    # The same stale version again: the user sees the conflict, nothing changes.
    response = web.post(
        reverse("documents_items_save", args=[priced_deal.pk]),
        {
            "version": priced_deal.version - 1,
            "product": [""],
            "name": ["Другое"],
            "quantity": ["1"],
            "unit": ["шт"],
            "price": ["1"],
            "discount_percent": ["0"],
            "vat_rate": ["20"],
        },
    )
    assert "changed by someone else" in response.content.decode()
    assert list(priced_deal.items.values_list("name", flat=True)) == ["Фреза концевая"]


def test_a_line_carrying_a_nul_character_is_refused_with_a_message(web, priced_deal):
    """The rows are read from the POST by hand; PostgreSQL refuses NUL in text (it was a 500)."""
    before = list(priced_deal.items.values_list("name", flat=True))
    response = web.post(
        reverse("documents_items_save", args=[priced_deal.pk]),
        {
            "version": priced_deal.version,
            "product": [""],
            "name": ["Фреза\x00"],
            "quantity": ["1"],
            "unit": ["шт"],
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert list(priced_deal.items.values_list("name", flat=True)) == before


def test_generate_download_and_send_by_email(
    web, manager, priced_deal, invoice_template, smtp_server, django_capture_on_commit_callbacks
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
    Identity.objects.create(contact=priced_deal.contact, kind="email", value="ivanov@romashka.ru")
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            reverse("documents_generate", args=[priced_deal.pk]),
            {"template": invoice_template.pk, "format": "pdf"},
        )
    assert response.status_code == 200
    document = Document.objects.get()
    assert document.status == "ready", document.error
    page = web.get(reverse("documents_deal_block", args=[priced_deal.pk])).content.decode()
    assert document.number in page and "download-pdf" in page and "download-docx" in page
    pdf = web.get(reverse("documents_download", args=[document.pk]) + "?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    preview = document.versions.get(format="pdf").preview
    if preview:
        assert web.get(reverse("documents_preview", args=[document.pk, 1]))["Content-Type"] == "image/png"

    response = web.post(reverse("documents_action", args=[document.pk, "send"]))
    assert response.status_code == 200
    sent = email.message_from_bytes(smtp_server.messages[-1]["data"], policy=email.policy.default)
    attachments = list(sent.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    assert attachments[0].get_content() == pdf.content
    assert document.number in sent["Subject"]
    assert Interaction.objects.filter(contact=priced_deal.contact, direction="out").exists()


def test_failed_document_shows_the_reason_and_a_retry_button(
    web, priced_deal, invoice_template, settings, django_capture_on_commit_callbacks
):
    settings.OTDEL_SOFFICE = "/nonexistent/soffice"
    with django_capture_on_commit_callbacks(execute=True):
        web.post(
            reverse("documents_generate", args=[priced_deal.pk]),
            {"template": invoice_template.pk, "format": "pdf"},
        )
    page = web.get(reverse("documents_deal_block", args=[priced_deal.pk])).content.decode()
    assert 'data-testid="retry"' in page
    assert "LibreOffice" in page
    settings.OTDEL_SOFFICE = None
    document = Document.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("documents_action", args=[document.pk, "retry"]), {})
    document.refresh_from_db()
    assert document.status == "ready"


def test_block_in_russian(web, manager, priced_deal, invoice_template):
    manager.language = "ru"
    manager.save()
    with translation.override("ru"):
        page = web.get(reverse("documents_deal_block", args=[priced_deal.pk])).content.decode()
    assert "Позиции сделки" in page and "Документы" in page and "Сформировать" in page


def test_catalog_templates_and_requisites_pages(client, admin_user, manager, invoice_template):
    client.force_login(manager)
    assert client.get(reverse("documents_catalog")).status_code == 200
    assert (
        client.post(reverse("documents_catalog"), {"sku": "A", "name": "B", "price": "1"}).status_code == 403
    )
    page = client.get(reverse("documents_templates")).content.decode()
    assert "Счёт на оплату" in page and "totals.gross_in_words" in page
    client.force_login(admin_user)
    response = client.post(
        reverse("documents_catalog"),
        {"sku": "SVC", "name": "Монтаж", "price": "1000,50", "unit": "усл", "vat_rate": "20"},
    )
    assert response.status_code == 302
    assert "Монтаж" in client.get(reverse("documents_catalog") + "?q=монт").content.decode()
    response = client.post(reverse("documents_requisites"), {"name": "ООО «Отдел»", "inn": "7707083894"})
    assert "control digit" in response.content.decode()
    assert services.items_totals([]).gross == 0


def test_company_form_takes_requisites_and_names_a_wrong_one(client, manager):
    client.force_login(manager)
    page = client.get(reverse("company_create")).content.decode()
    assert 'data-testid="company-requisites"' in page
    response = client.post(
        reverse("company_create"),
        {"name": "ООО «Ромашка»", "inn": "7736050003", "kpp": "772801001", "ogrn": "1027700070519"},
    )
    assert response.status_code == 200
    assert "control digit" in response.content.decode()
    response = client.post(
        reverse("company_create"),
        {
            "name": "ООО «Ромашка»",
            "inn": "7736050003",
            "kpp": "772801001",
            "ogrn": "1027700070518",
            "bik": "044525225",
            "account": "40702810200000012345",
            "signatory": "Иванов И. И.",
        },
    )
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "772801001" in detail and "40702810200000012345" in detail

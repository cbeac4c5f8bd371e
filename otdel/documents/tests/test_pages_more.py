"""Catalog editing, template activity and new versions, the legal entity of a document, the e-mail
compose dialog, and the deal amount that follows the line items."""

# ruff: noqa: F811  (the shared e-mail fixtures are imported by name; tests take them as arguments)

from __future__ import annotations

import email
import email.policy

import pytest
from django.urls import reverse

from otdel.comms.models import Interaction, Mailbox
from otdel.comms.tests.email.support.fixtures import smtp_server  # noqa: F401  (fixture)
from otdel.crm.models import Identity
from otdel.documents import services
from otdel.documents.models import Document, Product
from otdel.documents.tests.conftest import DEMO

pytestmark = pytest.mark.django_db


# --- catalog -----------------------------------------------------------------------------------------


def test_catalog_add_refuses_bad_input_naming_the_field_and_keeps_it(client, head):
    client.force_login(head)
    url = reverse("documents_catalog")
    bad = {"sku": "ST-1", "name": "Станок", "unit": "шт", "price": "дорого", "vat_rate": "20"}
    response = client.post(url, bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-price"' in html and "Enter a number." in html
    assert 'value="Станок"' in html  # the input is kept
    assert not Product.objects.exists()

    assert client.post(url, {**bad, "price": "1 500,50"}).status_code == 302
    product = Product.objects.get()
    assert str(product.price) == "1500.50"
    taken = client.post(url, {**bad, "price": "1", "name": "Другой"})
    assert taken.status_code == 400
    assert 'data-testid="error-sku"' in taken.content.decode()
    assert "already exists" in taken.content.decode()
    nameless = client.post(url, {**bad, "sku": "ST-2", "price": "1", "name": ""})
    assert nameless.status_code == 400 and 'data-testid="error-name"' in nameless.content.decode()
    assert Product.objects.count() == 1


def test_catalog_edit_and_deactivate(client, head, manager, deal):
    product = services.product_create(actor=head, sku="ST-1", name="Станок", price="100")
    client.force_login(head)
    edit = reverse("documents_product_edit", args=[product.pk])
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {
            "sku": "ST-1",
            "name": "Станок ТВ-16",
            "unit": "шт",
            "price": "-5",
            "vat_rate": "10",
            "version": product.version,
        },
    )
    assert response.status_code == 400 and 'data-testid="error-price"' in response.content.decode()
    response = client.post(
        edit,
        {
            "sku": "ST-1",
            "name": "Станок ТВ-16",
            "unit": "шт",
            "price": "120",
            "vat_rate": "10",
            "version": product.version,
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, str(product.price), product.vat_rate) == ("Станок ТВ-16", "120.00", "10")
    stale = client.post(
        edit, {"sku": "ST-1", "name": "X", "unit": "шт", "price": "1", "vat_rate": "10", "version": 1}
    )
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()

    assert (
        client.post(reverse("documents_product_active", args=[product.pk]), {"active": "0"}).status_code
        == 302
    )
    product.refresh_from_db()
    assert product.is_active is False
    client.force_login(manager)
    panel = client.get(reverse("documents_deal_block", args=[deal.pk])).content.decode()
    assert "Станок ТВ-16" not in panel  # not offered for new lines
    assert (
        client.post(reverse("documents_product_active", args=[product.pk]), {"active": "1"}).status_code
        == 403
    )
    assert client.get(edit).status_code == 403


# --- templates ----------------------------------------------------------------------------------------


def test_template_switch_off_on_and_new_version(client, admin_user, manager, deal, invoice_template):
    client.force_login(admin_user)
    off = client.post(reverse("documents_template_active", args=[invoice_template.pk]), {"active": "0"})
    assert off.status_code == 302
    client.force_login(manager)
    panel = client.get(reverse("documents_deal_block", args=[deal.pk])).content.decode()
    assert "Счёт на оплату" not in panel
    assert (
        client.post(
            reverse("documents_template_active", args=[invoice_template.pk]), {"active": "1"}
        ).status_code
        == 403
    )

    client.force_login(admin_user)
    client.post(reverse("documents_template_active", args=[invoice_template.pk]), {"active": "1"})
    old_file, old_sha = invoice_template.file, invoice_template.sha256
    url = reverse("documents_template_version", args=[invoice_template.pk])
    data = (DEMO / "akt_vypolnennyh_rabot.docx").read_bytes()
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(url, {"file": SimpleUploadedFile("x.docx", b"not a zip")})
    assert bad.status_code == 400 and 'data-testid="template-error"' in bad.content.decode()
    invoice_template.refresh_from_db()
    assert invoice_template.revision == 1 and invoice_template.file == old_file

    good = client.post(url, {"file": SimpleUploadedFile("schet-v2.docx", data)})
    assert good.status_code == 302
    invoice_template.refresh_from_db()
    assert invoice_template.revision == 2 and invoice_template.original_name == "schet-v2.docx"
    assert invoice_template.file != old_file
    from otdel.documents.storage import file_read

    assert file_read(old_file)  # the old file stays
    assert invoice_template.sha256 != old_sha


def test_template_api_patch_and_file(api_for, admin_user, manager, invoice_template):
    api = api_for(admin_user)
    response = api.patch(
        f"/api/v1/document-templates/{invoice_template.pk}", {"is_active": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (
        api_for(manager)
        .patch(f"/api/v1/document-templates/{invoice_template.pk}", {"is_active": True}, format="json")
        .status_code
        == 403
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = api.post(
        f"/api/v1/document-templates/{invoice_template.pk}/file",
        {"file": SimpleUploadedFile("macro.docm", b"x")},
        format="multipart",
    )
    assert bad.status_code == 400 and "file" in bad.json()["errors"]
    ok = api.post(
        f"/api/v1/document-templates/{invoice_template.pk}/file",
        {"file": SimpleUploadedFile("v2.docx", (DEMO / "schet_na_oplatu.docx").read_bytes())},
        format="multipart",
    )
    assert ok.status_code == 200 and ok.json()["revision"] == 2


# --- legal entity per document --------------------------------------------------------------------------


@pytest.fixture
def second_entity(admin_user, my_company, numbering):
    numbering.name = "Счета"
    numbering.save()
    entity = services.legal_entity_save(actor=admin_user, name="ИП Петров", inn="500100732259")
    return entity


def test_document_numbered_by_the_chosen_legal_entity(
    client, admin_user, manager, deal, invoice_template, second_entity, my_company
):
    client.force_login(manager)
    panel = client.get(reverse("documents_deal_block", args=[deal.pk])).content.decode()
    assert 'data-testid="generate-entity"' in panel and "ИП Петров" in panel
    # The second entity has no numbering "Счета" yet: refused, naming it.
    response = client.post(
        reverse("documents_generate", args=[deal.pk]),
        {"template": invoice_template.pk, "format": "docx", "legal_entity": second_entity.pk},
    )
    assert "ИП Петров has no numbering “Счета”" in response.content.decode()
    assert not Document.objects.exists()

    services.numbering_create(
        actor=admin_user, code="invoice-ip", name="Счета", pattern="ИП-{N}", legal_entity=second_entity
    )
    client.post(
        reverse("documents_generate", args=[deal.pk]),
        {"template": invoice_template.pk, "format": "docx", "legal_entity": second_entity.pk},
    )
    client.post(
        reverse("documents_generate", args=[deal.pk]), {"template": invoice_template.pk, "format": "docx"}
    )
    mine, default = Document.objects.order_by("id")
    assert (mine.legal_entity, mine.number) == (second_entity, "ИП-1")
    assert default.legal_entity == my_company and default.number.startswith("СЧ-")


def test_api_document_with_legal_entity(api_for, admin_user, manager, deal, invoice_template, second_entity):
    services.numbering_create(
        actor=admin_user, code="invoice-ip", name="Счета", pattern="ИП-{N}", legal_entity=second_entity
    )
    response = api_for(manager).post(
        f"/api/v1/deals/{deal.pk}/documents",
        {"template": invoice_template.pk, "format": "docx", "legal_entity": second_entity.pk},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["legal_entity"] == second_entity.pk and response.json()["number"] == "ИП-1"


# --- compose dialog ---------------------------------------------------------------------------------------


def test_compose_dialog_sends_to_the_chosen_address(
    client, manager, priced_deal, invoice_template, smtp_server, django_capture_on_commit_callbacks
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
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_create(
            actor=manager, deal=priced_deal, template=invoice_template, format="pdf"
        )
    document.refresh_from_db()
    assert document.status == "ready", document.error
    client.force_login(manager)
    url = reverse("documents_compose", args=[document.pk])
    dialog = client.get(url).content.decode()
    assert 'data-testid="compose-dialog"' in dialog
    assert "ivanov@romashka.ru" in dialog and "buh@romashka.ru" in dialog
    assert document.number in dialog and ".pdf" in dialog

    refused = client.post(url, {"to": "stranger@example.com", "subject": "S", "body": "B"})
    assert "Choose one of the contact" in refused.content.decode()
    assert smtp_server.messages == []
    empty = client.post(url, {"to": "buh@romashka.ru", "subject": "S", "body": "  "})
    assert 'data-testid="compose-error"' in empty.content.decode()

    sent = client.post(
        url,
        {
            "to": "buh@romashka.ru",
            "subject": "Счёт для бухгалтерии",
            "body": "Добрый день!\nСчёт во вложении.",
        },
    )
    assert 'data-testid="compose-sent"' in sent.content.decode()
    message = email.message_from_bytes(smtp_server.messages[-1]["data"], policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "buh@romashka.ru"
    assert message["Subject"] == "Счёт для бухгалтерии"
    assert "Счёт во вложении." in message.get_body(("plain",)).get_content()
    assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]
    letter = Interaction.objects.get(contact=contact, direction="out", kind="email")
    assert letter.subject == "Счёт для бухгалтерии"


def test_api_send_with_a_foreign_address_is_400(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    Identity.objects.create(contact=priced_deal.contact, kind="email", value="ivanov@romashka.ru")
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_create(
            actor=manager, deal=priced_deal, template=invoice_template, format="docx"
        )
    response = api_for(manager).post(
        f"/api/v1/documents/{document.pk}/send", {"to": "x@example.com"}, format="json"
    )
    assert response.status_code == 400 and "to" in response.json()["errors"]


# --- the deal amount follows the line items ----------------------------------------------------------------


def test_amount_is_read_only_while_the_deal_has_items(api_for, client, manager, priced_deal):
    api = api_for(manager)
    response = api.patch(f"/api/v1/deals/{priced_deal.pk}", {"amount": "1"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "amount_follows_items" and "amount" in response.json()["errors"]
    priced_deal.refresh_from_db()
    assert str(priced_deal.amount) == "883000.00"
    # the same amount, or other fields, pass
    assert (
        api.patch(
            f"/api/v1/deals/{priced_deal.pk}", {"amount": "883000.00", "title": "Станки"}, format="json"
        ).status_code
        == 200
    )
    # the deal form shows it read-only and saving the form keeps it
    client.force_login(manager)
    form = client.get(reverse("deal_edit", args=[priced_deal.pk])).content.decode()
    assert "The total of the line items" in form
    # no items: the amount is the user's
    services.deal_items_set(actor=manager, deal=priced_deal, items=[])
    assert api.patch(f"/api/v1/deals/{priced_deal.pk}", {"amount": "1"}, format="json").status_code == 200


def test_requisites_page_keeps_several_legal_entities(client, admin_user, my_company):
    from otdel.documents.models import LegalEntity, NumberingSequence

    client.force_login(admin_user)
    url = reverse("documents_requisites")
    assert 'data-testid="entity-add"' in client.get(url).content.decode()
    bad = client.post(url, {"entity": "new", "name": "ИП Петров", "inn": "500100732258"})
    assert bad.status_code == 400 and LegalEntity.objects.count() == 1
    response = client.post(url, {"entity": "new", "name": "ИП Петров", "inn": "500100732259"})
    assert response.status_code == 302
    second = LegalEntity.objects.get(name="ИП Петров")
    assert second.is_default is False and LegalEntity.objects.get(is_default=True) == my_company
    page = client.get(f"{url}?entity={second.pk}").content.decode()
    assert 'value="500100732259"' in page
    client.post(
        url,
        {
            "form": "numbering",
            "entity": second.pk,
            "code": "ip-invoice",
            "name": "Счета",
            "pattern": "ИП-{N}",
        },
    )
    assert NumberingSequence.objects.get(code="ip-invoice").legal_entity == second
    client.post(url, {"entity": second.pk, "name": "ИП Петров П. П.", "inn": "500100732259"})
    second.refresh_from_db()
    assert second.name == "ИП Петров П. П." and LegalEntity.objects.count() == 2

"""Generating documents end to end: number, DOCX and PDF (text checked with pypdf), versions,
download, lock in approval, soft delete, LibreOffice stuck or crashing, retry, e-mail."""

from __future__ import annotations

import hashlib
import io
import stat
import time

import pytest
from django.test import Client
from pypdf import PdfReader

from otdel.core.events import DocumentGenerated, subscribe
from otdel.core.models import ObjectChange
from otdel.documents import services
from otdel.documents.models import Document, DocumentStatus
from otdel.documents.rendering import docx_text

V1 = "/api/v1"
pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.replace("\u00a0", " ").split())


generated: list[DocumentGenerated] = []


@subscribe(DocumentGenerated)
def _remember(event: DocumentGenerated) -> None:
    generated.append(event)


def generate(client, deal, template, fmt="pdf", capture=None):
    with capture(execute=True):
        response = client.post(
            f"{V1}/deals/{deal.pk}/documents", {"template": template.pk, "format": fmt}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()


def test_invoice_pdf_carries_the_number_requisites_items_and_totals(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    client = api_for(manager)
    generated.clear()
    created = generate(client, priced_deal, invoice_template, capture=django_capture_on_commit_callbacks)
    year = created["date"][:4]
    assert created["number"] == f"СЧ-{year}-0001"
    document = client.get(f"{V1}/documents/{created['id']}").json()
    assert document["status"] == "ready", document["error"]
    assert {(v["version"], v["format"]) for v in document["versions"]} == {(1, "docx"), (1, "pdf")}
    assert [e.document_id for e in generated] == [created["id"]]

    response = client.get(f"{V1}/documents/{created['id']}/download?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    pdf_row = next(v for v in document["versions"] if v["format"] == "pdf")
    assert hashlib.sha256(pdf).hexdigest() == pdf_row["sha256"] and len(pdf) == pdf_row["size"]
    text = pdf_text(pdf)
    for expected in [
        f"Счёт на оплату № СЧ-{year}-0001",
        "ПАО Сбербанк",
        "044525225",
        "30101810400000000225",
        "40702810200000012345",
        "ИНН 7707083893",
        "Общество с ограниченной ответственностью «Ромашка»",
        "ИНН 7736050003",
        "Станок токарный ТВ-16",
        "Пусконаладочные работы",
        "855 000,00",
        "883 000,00",
        "147 166,67",
        "Восемьсот восемьдесят три тысячи рублей 00 копеек",
    ]:
        assert expected in text, expected
    # Every font is embedded, so the PDF looks the same wherever it is opened.
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
                "/FontDescriptor"
            ]
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.get_object()), font["/BaseFont"]
    docx = client.get(f"{V1}/documents/{created['id']}/download?format=docx").content
    assert "Восемьсот восемьдесят три тысячи рублей 00 копеек" in docx_text(docx)


def test_regenerating_makes_a_new_version_from_current_data_and_keeps_the_old(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    client = api_for(manager)
    created = generate(
        client, priced_deal, invoice_template, fmt="docx", capture=django_capture_on_commit_callbacks
    )
    services.deal_items_set(
        actor=manager, deal=priced_deal, items=[{"name": "Фреза", "price": "1200", "quantity": "3"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{V1}/documents/{created['id']}/regenerate")
    assert response.status_code == 201
    document = client.get(f"{V1}/documents/{created['id']}").json()
    assert (document["status"], document["current_version"], document["number"]) == (
        "ready",
        2,
        created["number"],
    )
    first = docx_text(client.get(f"{V1}/documents/{created['id']}/download?format=docx&version=1").content)
    second = docx_text(client.get(f"{V1}/documents/{created['id']}/download?format=docx&version=2").content)
    assert "Станок токарный ТВ-16" in first and "Фреза" not in first
    assert "Фреза" in second and "3 600,00" in second.replace("\u00a0", " ")
    assert client.get(f"{V1}/documents/{created['id']}/download?format=docx&version=7").status_code == 404


def test_numbers_are_consecutive_and_a_failed_generation_keeps_its_number(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks, settings
):
    client = api_for(manager)
    settings.OTDEL_SOFFICE = "/nonexistent/soffice"
    first = generate(client, priced_deal, invoice_template, capture=django_capture_on_commit_callbacks)
    assert client.get(f"{V1}/documents/{first['id']}").json()["status"] == "failed"
    settings.OTDEL_SOFFICE = None
    second = generate(
        client, priced_deal, invoice_template, fmt="docx", capture=django_capture_on_commit_callbacks
    )
    assert [first["number"][-4:], second["number"][-4:]] == ["0001", "0002"]


def test_in_approval_the_document_is_locked(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    client = api_for(manager)
    created = generate(
        client, priced_deal, invoice_template, fmt="docx", capture=django_capture_on_commit_callbacks
    )
    Document.objects.filter(pk=created["id"]).update(status=DocumentStatus.IN_APPROVAL)
    response = client.post(f"{V1}/documents/{created['id']}/regenerate")
    assert (response.status_code, response.json()["code"]) == (409, "locked")
    assert client.delete(f"{V1}/documents/{created['id']}").status_code == 409


def test_an_approved_document_is_final(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    client = api_for(manager)
    created = generate(
        client, priced_deal, invoice_template, fmt="docx", capture=django_capture_on_commit_callbacks
    )
    Document.objects.filter(pk=created["id"]).update(status=DocumentStatus.APPROVED)
    response = client.post(f"{V1}/documents/{created['id']}/regenerate")
    assert (response.status_code, response.json()["code"]) == (409, "approved")
    document = Document.objects.get(pk=created["id"])
    assert (document.status, document.versions.count()) == (DocumentStatus.APPROVED, 1)
    assert not document.may_regenerate
    browser = Client()
    browser.force_login(manager)
    panel = browser.get(f"/deals/{priced_deal.pk}/documents-block/")
    html = panel.content.decode()
    assert panel.status_code == 200 and created["number"] in html and 'data-testid="regenerate"' not in html


def test_delete_is_soft_and_logged(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    client = api_for(manager)
    created = generate(
        client, priced_deal, invoice_template, fmt="docx", capture=django_capture_on_commit_callbacks
    )
    assert client.delete(f"{V1}/documents/{created['id']}").status_code == 204
    assert client.get(f"{V1}/deals/{priced_deal.pk}/documents").json()["results"] == []
    assert client.get(f"{V1}/documents/{created['id']}").status_code == 404
    document = Document.objects.get(pk=created["id"])
    assert document.deleted_at is not None and document.versions.count() == 1
    assert ObjectChange.objects.filter(object_id=document.pk, action=ObjectChange.Action.DELETE).exists()


def test_documents_of_someone_elses_deal_are_404(
    api_for, manager, other_manager, priced_deal, invoice_template, django_capture_on_commit_callbacks
):
    created = generate(
        api_for(manager),
        priced_deal,
        invoice_template,
        fmt="docx",
        capture=django_capture_on_commit_callbacks,
    )
    other = api_for(other_manager)
    assert other.get(f"{V1}/documents/{created['id']}").status_code == 404
    assert other.get(f"{V1}/documents/{created['id']}/download?format=docx").status_code == 404
    assert (
        other.post(
            f"{V1}/deals/{priced_deal.pk}/documents", {"template": invoice_template.pk}, format="json"
        ).status_code
        == 404
    )


def _fake_soffice(tmp_path, body: str) -> str:
    path = tmp_path / "soffice"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def _alive(pid: int) -> bool:
    """Running (a killed process whose parent is gone may linger as a zombie until init reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_stuck_libreoffice_is_killed_and_the_document_fails_then_retry_succeeds(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks, settings, tmp_path
):
    # A LibreOffice that hangs (its child too): killed with its process group at the time limit.
    pidfile = tmp_path / "pids"
    settings.OTDEL_SOFFICE = _fake_soffice(
        tmp_path, f"sleep 300 & echo $! >> {pidfile}; echo $$ >> {pidfile}; wait"
    )
    settings.OTDEL_SOFFICE_TIMEOUT = 2
    client = api_for(manager)
    created = generate(client, priced_deal, invoice_template, capture=django_capture_on_commit_callbacks)
    document = client.get(f"{V1}/documents/{created['id']}").json()
    assert document["status"] == "failed"
    assert "did not finish the PDF within 2 s" in document["error"]
    assert document["versions"] == []
    time.sleep(0.5)
    pids = [int(p) for p in pidfile.read_text().split()]
    assert pids and not any(_alive(pid) for pid in pids)

    settings.OTDEL_SOFFICE = None
    settings.OTDEL_SOFFICE_TIMEOUT = 120
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{V1}/documents/{created['id']}/retry")
    assert response.status_code == 200
    document = client.get(f"{V1}/documents/{created['id']}").json()
    assert (document["status"], document["number"], document["current_version"]) == (
        "ready",
        created["number"],
        1,
    )


def test_real_libreoffice_killed_mid_conversion(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks, settings
):
    settings.OTDEL_SOFFICE_TIMEOUT = 0.2  # far less than LibreOffice needs to start
    created = generate(
        api_for(manager), priced_deal, invoice_template, capture=django_capture_on_commit_callbacks
    )
    document = Document.objects.get(pk=created["id"])
    assert document.status == DocumentStatus.FAILED
    assert "was stopped" in document.error


def test_a_crashing_libreoffice_is_reported(
    api_for, manager, priced_deal, invoice_template, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.OTDEL_SOFFICE = _fake_soffice(tmp_path, "kill -SEGV $$")
    created = generate(
        api_for(manager), priced_deal, invoice_template, capture=django_capture_on_commit_callbacks
    )
    document = Document.objects.get(pk=created["id"])
    assert document.status == DocumentStatus.FAILED
    assert "crashed" in document.error


def test_a_template_with_too_many_pages_is_refused(
    api_for, manager, priced_deal, admin_user, numbering, django_capture_on_commit_callbacks, settings
):
    from otdel.documents.tests.docx_support import docx_bytes

    settings.OTDEL_DOCUMENT_MAX_PAGES = 1
    data = docx_bytes("{% for i in range(400) %}Строка договора {{ i }} {{ deal.title }}. {% endfor %}")
    template = services.template_create(
        actor=admin_user,
        data=data,
        filename="long.docx",
        name="Длинный",
        kind="contract",
        numbering=numbering,
    )
    created = generate(api_for(manager), priced_deal, template, capture=django_capture_on_commit_callbacks)
    document = Document.objects.get(pk=created["id"])
    assert document.status == DocumentStatus.FAILED
    assert "more than the limit of 1" in document.error

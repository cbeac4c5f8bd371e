"""Destruction reaches the files other apps keep: generated documents of the person's deals, import
files that created them, export files that list them."""

import datetime

import pytest
from django.core.files.base import ContentFile

from otdel.crm.services import contact_create, deal_create
from otdel.documents.models import Document, DocumentTemplate, DocumentVersion
from otdel.documents.storage import documents_storage, file_save
from otdel.privacy.destruction import contact_destroy
from otdel.transfer.models import ExportLog, ImportJob, ImportRow

PHONE = "+79161234567"
EMAIL = "orlova.qzx@example.ru"
NAME = "Орлова Анна Qzx"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "docs"},
        },
    }
    documents_storage.cache_clear()
    yield settings.MEDIA_ROOT
    documents_storage.cache_clear()


@pytest.fixture
def person(db, manager, pipeline):
    contact = contact_create(actor=manager, full_name=NAME, identities=[("phone", PHONE), ("email", EMAIL)])
    deal = deal_create(actor=manager, title=f"Поставка для {NAME}", contact=contact, responsible=manager)
    return contact, deal


@pytest.mark.django_db
def test_the_documents_of_the_persons_deals_lose_their_files(
    admin_user, person, media, django_capture_on_commit_callbacks
):
    contact, deal = person
    template = DocumentTemplate.objects.create(
        name="Договор",
        kind="contract",
        file="templates/t.docx",
        original_name="t.docx",
        size=1,
        sha256="0" * 64,
    )
    document = Document.objects.create(
        deal=deal,
        template=template,
        kind="Договор",
        title=f"Договор с {NAME}",
        number="Д-7",
        date=datetime.date(2026, 12, 1),
    )
    pdf = file_save("documents", "d.pdf", f"%PDF {NAME} {PHONE}".encode())
    preview = file_save("previews", "d.png", b"PNG" + NAME.encode())
    DocumentVersion.objects.create(
        document=document, version=1, format="pdf", file=pdf, preview=preview, sha256="1" * 64, size=10
    )
    storage = documents_storage()
    assert storage.exists(pdf) and storage.exists(preview)
    with django_capture_on_commit_callbacks(execute=True):
        contact_destroy(actor=admin_user, contact=contact, reason="Требование субъекта")
    assert not storage.exists(pdf) and not storage.exists(preview)
    document.refresh_from_db()
    assert document.title == "Договор №Д-7" and document.number == "Д-7"
    assert DocumentVersion.objects.get().file == ""


@pytest.mark.django_db
def test_import_and_export_files_naming_the_person_are_deleted(
    admin_user, person, media, django_capture_on_commit_callbacks
):
    contact, deal = person
    # The file wrote the phone its own way: found by its digits.
    mentions = ImportJob.objects.create(
        created_by=admin_user,
        kind="contacts",
        file=ContentFile("ФИО;Телефон\nОрлова;8 (916) 123-45-67\n".encode("cp1251"), name="a.csv"),
        file_name="a.csv",
        file_format="csv",
    )
    created = ImportJob.objects.create(
        created_by=admin_user,
        kind="contacts",
        file=ContentFile(b"name\nsomeone\n", name="b.csv"),
        file_name="b.csv",
        file_format="csv",
    )
    ImportRow.objects.create(
        job=created, row=2, outcome="created", records=[["crm.contact", contact.pk, "created", []]]
    )
    ImportRow.objects.create(job=created, row=3, outcome="error", message=f"Телефон {PHONE} уже занят")
    other = ImportJob.objects.create(
        created_by=admin_user,
        kind="contacts",
        file=ContentFile(b"name;phone\nIvanov;+79990001122\n", name="c.csv"),
        file_name="c.csv",
        file_format="csv",
    )
    export = ExportLog.objects.create(
        user_name="admin",
        kind="contacts",
        file_format="csv",
        file=ContentFile(f"{EMAIL}\n".encode(), name="e.csv"),
    )
    paths = {job.pk: job.file.name for job in (mentions, created, other)}
    with django_capture_on_commit_callbacks(execute=True):
        contact_destroy(actor=admin_user, contact=contact, reason="Требование субъекта")
    for job in (mentions, created):
        job.refresh_from_db()
        assert not job.file and not (media / paths[job.pk]).exists()
    other.refresh_from_db()
    assert other.file and (media / paths[other.pk]).exists()
    export.refresh_from_db()
    assert not export.file
    assert not ImportRow.objects.filter(message__contains=PHONE).exists()

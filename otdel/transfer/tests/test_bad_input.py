"""Every bad input of the issue gets a clear message, and nothing is half-imported."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from otdel.crm.models import Contact, Deal
from otdel.transfer import services
from otdel.transfer.models import ImportJob, ImportRow
from otdel.transfer.tests import files

pytestmark = pytest.mark.django_db


def refused(admin, data: bytes, name: str = "file.csv", kind: str = "contacts") -> str:
    with pytest.raises(ValidationError) as exc:
        services.import_create(actor=admin, upload=SimpleUploadedFile(name, data), kind=kind, start=True)
    assert not ImportJob.objects.exists()
    return " ".join(exc.value.messages)


def test_an_empty_file(admin_user):
    assert refused(admin_user, b"") == "The file is empty."


def test_a_file_with_only_the_header(admin_user):
    assert "only the header row" in refused(admin_user, "ФИО;Телефон\r\n".encode("cp1251"))
    assert "only the header row" in refused(admin_user, files.xlsx_bytes([["ФИО", "Телефон"]]), "f.xlsx")


def test_a_200_mb_file_is_refused_by_its_size(admin_user, tmp_path):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    upload = TemporaryUploadedFile("big.csv", "text/csv", 0, "utf-8")
    upload.file.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing written
    upload.size = 200 * 1024 * 1024
    with pytest.raises(ValidationError) as exc:
        services.import_create(actor=admin_user, upload=upload, kind="contacts")
    assert exc.value.messages[0].replace("\xa0", " ") == (
        "The file is 200.0 MB; the largest file that can be imported is 100.0 MB. Split it into parts."
    )
    assert not ImportJob.objects.exists()


def test_a_zip_bomb_posing_as_xlsx(admin_user):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    message = refused(admin_user, buffer.getvalue(), "bomb.xlsx")
    assert "unpacks to 60.0\xa0MB" in message


def test_a_broken_xlsx(admin_user):
    good = files.xlsx_bytes([["ФИО"], ["Иванов"]])
    assert "damaged" in refused(admin_user, good[: len(good) // 2], "broken.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert "not an Excel workbook" in refused(admin_user, buffer.getvalue(), "fake.xlsx")


@pytest.mark.parametrize("encoding", ["koi8_r", "utf-16-le", "cp866", "mac_cyrillic"])
def test_a_csv_in_an_unknown_encoding(admin_user, encoding):
    rows = [["ФИО", "Телефон", "Комментарий"]] + [
        ["Иванов Иван Иванович", "+79120000001", "Позвонить после обеда, хочет скидку"]
    ] * 5
    message = refused(admin_user, files.csv_bytes(rows, encoding=encoding))
    assert "encoding could not be recognized" in message


@pytest.mark.parametrize(
    ("encoding", "bom", "delimiter"),
    [("cp1251", False, ";"), ("utf-8", False, ","), ("utf-8", True, ";"), ("utf-8", False, "\t")],
)
def test_the_encodings_and_delimiters_that_are_read(admin_user, encoding, bom, delimiter):
    rows = [["ФИО", "Телефон"], ["Ёлкин Пётр", "+79120000001"]]
    job = services.import_create(
        actor=admin_user,
        upload=files.upload(files.csv_bytes(rows, encoding=encoding, bom=bom, delimiter=delimiter)),
        kind="contacts",
    )
    assert job.delimiter == delimiter
    assert job.headers == ["ФИО", "Телефон"]
    assert job.mapping == {"0": "full_name", "1": "phone"}


def real_run(admin, rows, **options):
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = services.import_create(
            actor=admin, upload=files.upload(files.csv_bytes(rows)), start=True, dry_run=False, **options
        )
    job.refresh_from_db()
    return job


def test_a_row_with_a_100000_character_cell_fails_the_import_and_nothing_is_imported(admin_user):
    rows = [
        ["ФИО", "Телефон", "Комментарий"],
        ["Первый", "+79120000001", "ok"],
        ["Второй", "+79120000002", "я" * 100_000],
    ]
    job = real_run(admin_user, rows, kind="contacts")
    assert job.status == "failed"
    row = ImportRow.objects.get(job=job)
    assert (row.row, row.field) == (3, "Комментарий")
    assert row.message == "The cell is 100 000 characters long; at most 10 000 fit."
    assert Contact.objects.count() == 0


def test_dates_and_amounts_in_every_usual_form(admin_user, pipeline):
    rows = [
        ["Название сделки", "Сумма", "Предполагаемая дата закрытия", "Телефон"],
        ["А", "1 234 567,89", "31.12.2025", "+79120000001"],
        ["Б", "1,234,567.89", "2025-12-31", "+79120000002"],
        ["В", "1234567.89", "46022", "+79120000003"],
        ["Г", "много", "31.12.2025", "+79120000004"],
        ["Д", "10", "вчера", "+79120000005"],
    ]
    job = real_run(admin_user, rows, kind="deals", pipeline=pipeline)
    assert job.status == "failed"
    errors = {r.row: (r.field, r.message) for r in job.rows.all()}
    assert errors == {
        5: ("Сумма", "“много” is not an amount; write it as 1 234 567,89 or 1234567.89."),
        6: ("Предполагаемая дата закрытия", "“вчера” is not a date; write it as 31.12.2025 or 2025-12-31."),
    }
    assert Deal.objects.count() == 0

    job = real_run(admin_user, rows, kind="deals", pipeline=pipeline, skip_invalid=True)
    assert job.status == "done" and (job.created, job.errors) == (3, 2)
    for deal in Deal.objects.all():
        assert str(deal.amount) == "1234567.89"
        assert deal.expected_close.isoformat() == "2025-12-31"


def test_an_excel_file_with_real_dates_numbers_and_a_serial_date(admin_user, pipeline):
    import datetime

    data = files.xlsx_bytes(
        [
            ["Сделка", "Бюджет", "Дата закрытия", "Телефон"],
            ["А", 1234567.89, datetime.datetime(2025, 12, 31), 79120000001],
            ["Б", 10, 46022, "8 912 000 00 02"],
        ]
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = services.import_create(
            actor=admin_user,
            upload=files.upload(data, "deals.xlsx"),
            kind="deals",
            start=True,
            dry_run=False,
            pipeline=pipeline,
        )
    job.refresh_from_db()
    assert job.status == "done", job.message
    assert sorted((str(d.amount), d.expected_close.isoformat()) for d in Deal.objects.all()) == [
        ("10.00", "2025-12-31"),
        ("1234567.89", "2025-12-31"),
    ]
    assert set(Contact.objects.values_list("identities__value", flat=True)) == {
        "+79120000001",
        "+79120000002",
    }

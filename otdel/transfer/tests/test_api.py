"""The import and export API as CONTRACTS.md describes it."""

from __future__ import annotations

import io
import json

import pytest
from django.test import TestCase
from openpyxl import load_workbook

from otdel.crm import services as crm
from otdel.crm.models import Contact
from otdel.transfer.models import ExportLog, ImportJob
from otdel.transfer.tests import files

pytestmark = pytest.mark.django_db


def post_import(client, data: bytes, name="export.csv", **fields):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/api/v1/imports", {"file": files.upload(data, name), **fields}, format="multipart"
        )


def test_import_contract_dry_run_then_status_with_errors(api_for, admin_user):
    client = api_for(admin_user)
    rows = [["ФИО", "Телефон"], ["Иванов", "+79120000001"], ["Петров", "не телефон"]]
    response = post_import(client, files.csv_bytes(rows), kind="contacts", dry_run="true")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "status"}

    status = client.get(f"/api/v1/imports/{body['id']}").json()
    assert status["status"] == "done" and status["dry_run"] is True
    assert (status["total"], status["created"], status["updated"], status["merged"], status["skipped"]) == (
        2,
        1,
        0,
        0,
        0,
    )
    assert status["errors"] == [
        {"row": 3, "field": "Телефон", "message": "“не телефон” is not a phone number."}
    ]
    assert Contact.objects.count() == 0


def test_import_with_a_mapping_by_header_and_for_real(api_for, admin_user):
    client = api_for(admin_user)
    rows = [["Клиент", "Контакты"], ["Иванов", "+79120000001, ivanov@x.ru"]]
    mapping = json.dumps({"Клиент": "full_name", "Контакты": "phone"})
    response = post_import(client, files.csv_bytes(rows), kind="contacts", mapping=mapping, dry_run="false")
    status = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    # "ivanov@x.ru" in a phone column is an error for the row: the mapping said phones.
    assert status["status"] == "failed" and status["errors"][0]["row"] == 2

    rows = [["Клиент", "Телефоны", "Почта"], ["Иванов", "+79120000001; 8 912 000 00 02", "ivanov@x.ru"]]
    response = post_import(
        client,
        files.csv_bytes(rows),
        kind="contacts",
        dry_run="false",
        mapping=json.dumps({"0": "full_name", "1": "phone", "2": "email"}),
    )
    status = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert status["status"] == "done" and status["created"] == 1
    assert Contact.objects.get().identities.count() == 3


def test_import_errors_have_the_contract_shape(api_for, admin_user, manager):
    client = api_for(admin_user)
    response = post_import(client, b"", kind="contacts")
    assert response.status_code == 400
    assert response.json() == {"errors": {"file": ["The file is empty."]}, "code": "empty"}
    response = post_import(client, b"a;b\r\n", kind="contacts")
    assert response.status_code == 400 and response.json()["code"] == "only_header"
    response = post_import(client, files.bitrix_contacts(), kind="contacts", mapping="{not json")
    assert response.status_code == 400 and "mapping" in response.json()["errors"]
    response = post_import(
        client, files.bitrix_contacts(), kind="contacts", mapping=json.dumps({"Нет такой": "phone"})
    )
    assert response.status_code == 400 and response.json()["code"] == "unknown_column"
    assert post_import(api_for(manager), files.bitrix_contacts(), kind="auto").status_code == 403
    assert client.get("/api/v1/imports/999").status_code == 404
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_413(api_for, admin_user, settings):
    settings.OTDEL_IMPORT_MAX_BYTES = 100
    response = post_import(api_for(admin_user), files.bitrix_contacts(), kind="auto")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_undo_and_cancel_through_the_api(api_for, admin_user):
    client = api_for(admin_user)
    rows = [["ФИО", "Телефон"], ["Иванов", "+79120000001"]]
    job_id = post_import(client, files.csv_bytes(rows), kind="contacts", dry_run="false").json()["id"]
    assert client.post(f"/api/v1/imports/{job_id}/cancel").status_code == 409
    response = client.post(f"/api/v1/imports/{job_id}/undo")
    assert response.status_code == 200 and response.json()["status"] == "undone"
    assert Contact.objects.count() == 0
    assert client.post(f"/api/v1/imports/{job_id}/undo").status_code == 409


def test_the_report_is_the_file_with_a_result_and_an_error_column(api_for, admin_user):
    client = api_for(admin_user)
    rows = [["ФИО", "Телефон"], ["Иванов", "+79120000001"], ['=HYPERLINK("http://x")', "12"]]
    job_id = post_import(client, files.csv_bytes(rows), kind="contacts").json()["id"]
    response = client.get(f"/api/v1/imports/{job_id}/report")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["ФИО", "Телефон", "Result", "Errors"]
    assert values[1] == ["Иванов", "+79120000001", "Created", None]
    assert values[2][0] == '\'=HYPERLINK("http://x")'
    assert values[2][2:] == ["Error", "Телефон: “12” is not a valid phone number."]


# --- exports -------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    import csv

    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_an_export_holds_only_what_the_user_may_see_with_the_filters(api_for, manager, other_manager):
    crm.contact_create(actor=manager, full_name="Мой клиент", identities=[("phone", "+79120000001")])
    crm.contact_create(actor=manager, full_name="Мой второй", identities=[("email", "two@x.ru")])
    crm.contact_create(actor=other_manager, full_name="Чужой клиент", identities=[("phone", "+79120000003")])

    response = api_for(manager).get("/api/v1/exports/contacts?format=csv")
    rows = read_csv(response)
    assert rows[0][:4] == ["ID", "Full name", "Phones", "E-mails"]
    assert sorted(r[1] for r in rows[1:]) == ["Мой второй", "Мой клиент"]
    assert next(r for r in rows if r[1] == "Мой клиент")[2] == "+7 912 000-00-01"

    rows = read_csv(api_for(manager).get("/api/v1/exports/contacts?format=csv&q=втор"))
    assert [r[1] for r in rows[1:]] == ["Мой второй"]

    log = ExportLog.objects.order_by("id").last()
    assert (log.user, log.kind, log.file_format, log.filters, log.rows) == (
        manager,
        "contacts",
        "csv",
        {"q": "втор"},
        1,
    )
    assert ExportLog.objects.count() == 2


def test_formula_injection_is_neutralized_in_csv_and_xlsx(api_for, admin_user):
    crm.contact_create(
        actor=admin_user,
        full_name="=cmd|' /C calc'!A0",
        position="+SUM(1,2)",
        identities=[("phone", "+79120000001")],
    )
    rows = read_csv(api_for(admin_user).get("/api/v1/exports/contacts?format=csv"))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    assert rows[1][5] == "'+SUM(1,2)"
    assert rows[1][2] == "+7 912 000-00-01"  # a phone stays as it is

    response = api_for(admin_user).get("/api/v1/exports/contacts?format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    row = [c for c in next(sheet.iter_rows(min_row=2))]
    assert row[1].value == "'=cmd|' /C calc'!A0" and row[1].data_type == "s"


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals", "leads", "tasks"])
def test_every_list_exports(api_for, admin_user, pipeline, kind):
    contact = crm.contact_create(actor=admin_user, full_name="Клиент", identities=[("phone", "+79120000001")])
    crm.company_create(actor=admin_user, name="ООО Ромашка")
    deal = crm.deal_create(
        actor=admin_user, title="Сделка", pipeline=pipeline, contact=contact, amount="1500.50"
    )
    crm.lead_create(actor=admin_user, contact=contact, source="form", channel="form")
    crm.task_create(actor=admin_user, title="Перезвонить", assignee=admin_user, deal=deal)
    response = api_for(admin_user).get(f"/api/v1/exports/{kind}?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 2
    if kind == "deals":
        rows = read_csv(api_for(admin_user).get("/api/v1/exports/deals?format=csv"))
        assert rows[1][4] == "1500,50"


def test_a_large_export_runs_in_the_background_and_is_offered_for_download(
    api_for, client, manager, monkeypatch
):
    from otdel.transfer import export

    monkeypatch.setattr(export, "SYNC_LIMIT", 2)
    for n in range(3):
        crm.contact_create(actor=manager, full_name=f"Клиент {n}", identities=[("phone", f"+7912000000{n}")])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_for(manager).get("/api/v1/exports/contacts?format=csv")
    assert response.status_code == 202
    log = ExportLog.objects.get()
    body = api_for(manager).get(f"/api/v1/exports/contacts/{log.pk}").json()
    assert body["status"] == "done" and body["rows"] == 3
    client.force_login(manager)
    download = client.get(body["download"])
    text = b"".join(download.streaming_content).decode("utf-8")
    assert text.count("Клиент") == 3
    assert api_for(manager).get("/api/v1/exports/bogus").status_code == 404
    assert api_for(manager).get("/api/v1/exports/contacts?format=pdf").status_code == 400


def test_exports_carry_custom_fields_and_filter_by_them(api_for, admin_user, pipeline):
    crm.custom_field_create(
        actor=None, entity="deal", code="region", name="Регион", type="list", options=["А", "Б"]
    )
    crm.deal_create(actor=admin_user, title="Первая", pipeline=pipeline, custom={"region": "Б"})
    crm.deal_create(actor=admin_user, title="Вторая", pipeline=pipeline)
    rows = read_csv(api_for(admin_user).get("/api/v1/exports/deals?format=csv&custom__region=Б"))
    assert rows[0][-1] == "Регион"
    assert [(r[1], r[-1]) for r in rows[1:]] == [("Первая", "Б")]


def test_a_nul_character_deep_in_a_file_is_an_error_of_its_row(api_for, admin_user):
    """Past the 256 KB the encoding is guessed from, a NUL reached PostgreSQL mid-import: the import
    failed with an internal error after writing the batches before it. Now the pre-scan names the
    row, and nothing is imported."""
    client = api_for(admin_user)
    rows = [["ФИО", "Телефон"]] + [[f"Клиент {i}", f"+7912{i:07d}"] for i in range(12_000)]
    rows.append(["Иван\x00ов", "+79129999999"])
    data = files.csv_bytes(rows)
    assert data.index(b"\x00") > 256 * 1024
    response = post_import(client, data, kind="contacts", dry_run="false")
    status = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert status["status"] == "failed" and status["created"] == 0
    assert status["errors"] == [
        {"row": 12_002, "field": "ФИО", "message": "Null characters are not allowed."}
    ]
    assert Contact.objects.count() == 0

"""Subject requests (due dates by the production calendar), consent withdrawal and its effects,
consent proof, the access log, breaches — through the API a user touches."""

import datetime
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from otdel.core.models import CalendarDay
from otdel.crm.services import contact_create
from otdel.privacy.models import Consent, PDAccessLog, PurposeRule, SubjectRequest
from otdel.privacy.services import (
    ConsentRequired,
    consent_purpose_upsert,
    consent_record,
    consent_record_manual,
    processing_allowed,
    processing_require,
    purpose_rule_set,
    subject_request_due,
)

MSK = datetime.timezone(datetime.timedelta(hours=3))


@pytest.fixture
def new_year(db):
    """The 2026/27 New Year holidays (as the shipped calendar has them; set here so the test stands alone)."""
    for day in [
        "2026-12-31",
        "2027-01-01",
        "2027-01-04",
        "2027-01-05",
        "2027-01-06",
        "2027-01-07",
        "2027-01-08",
    ]:
        CalendarDay.objects.update_or_create(
            date=datetime.date.fromisoformat(day), defaults={"kind": "holiday"}
        )


@pytest.mark.django_db
def test_due_date_counts_ten_working_days_across_the_new_year_holidays(new_year):
    received = datetime.datetime(2026, 12, 24, 15, 0, tzinfo=MSK)  # Thursday
    # 25, 28, 29, 30 Dec; 31 Dec and 1-8 Jan are off; 11-15 Jan; 18 Jan is the tenth working day.
    assert subject_request_due(received) == datetime.date(2027, 1, 18)
    assert subject_request_due(received, extended=True) == datetime.date(2027, 1, 25)


@pytest.mark.django_db
def test_due_date_uses_the_local_day_of_receipt(new_year):
    late_evening_utc = datetime.datetime(
        2026, 12, 24, 21, 30, tzinfo=datetime.UTC
    )  # 00:30 on 25 Dec in Moscow
    assert subject_request_due(late_evening_utc) == datetime.date(2027, 1, 19)


@pytest.mark.django_db
def test_request_by_api_gets_its_due_date_and_can_be_extended_once(admin_user, api_for, new_year):
    contact = contact_create(actor=admin_user, full_name="Сидоров", identities=[("phone", "+79031112233")])
    api = api_for(admin_user)
    response = api.post(
        "/api/v1/subject-requests",
        {"kind": "access", "identity": "8 903 111-22-33", "received_at": "2026-12-24T15:00:00+03:00"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["due_at"], body["contact"]) == ("2027-01-18", contact.pk)
    extended = api.post(
        f"/api/v1/subject-requests/{body['id']}/extend", {"reason": "Большой объём"}, format="json"
    )
    assert extended.json()["due_at"] == "2027-01-25"
    again = api.post(f"/api/v1/subject-requests/{body['id']}/extend", {"reason": "Ещё"}, format="json")
    assert again.status_code == 400


@pytest.mark.django_db
def test_request_api_refuses_bad_input_and_non_admins(admin_user, manager, api_for):
    api = api_for(admin_user)
    assert api.post("/api/v1/subject-requests", {"kind": "nope"}, format="json").status_code == 400
    assert api.post("/api/v1/subject-requests", {"kind": "access"}, format="json").status_code == 400
    assert (
        api.post("/api/v1/subject-requests", {"kind": "access", "identity": "abc"}, format="json").status_code
        == 400
    )
    assert api_for(manager).get("/api/v1/subject-requests").status_code == 403


@pytest.mark.django_db
def test_overdue_requests_are_listed_as_overdue(admin_user, api_for):
    SubjectRequest.objects.create(
        kind="access", requester="Кто-то", received_at=timezone.now(), due_at=datetime.date(2020, 1, 10)
    )
    rows = api_for(admin_user).get("/api/v1/subject-requests?overdue=1").json()["results"]
    assert [r["overdue"] for r in rows] == [True]


@pytest.mark.django_db
def test_access_export_is_a_zip_of_json_and_files(admin_user, api_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contact = contact_create(actor=admin_user, full_name="Козлов", identities=[("email", "k@example.org")])
    purpose = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Согласен").purpose
    consent_record_manual(
        actor=admin_user,
        contact=contact,
        purpose=purpose,
        given_at=timezone.now(),
        scan=SimpleUploadedFile("consent.pdf", b"%PDF signed"),
    )
    api = api_for(admin_user)
    created = api.post(
        "/api/v1/subject-requests", {"kind": "access", "contact": contact.pk}, format="json"
    ).json()
    response = api.get(f"/api/v1/subject-requests/{created['id']}/export")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )
    data = json.loads(archive.read("data.json"))
    assert data["contact"]["full_name"] == "Козлов"
    assert data["identities"][0]["value"] == "k@example.org"
    assert (
        data["consents"][0]["method"] == "manual" and data["consents"][0]["scan"]["filename"] == "consent.pdf"
    )
    assert any(name.startswith("files/consents/") for name in archive.namelist())
    assert PDAccessLog.objects.filter(action="export", contact=contact).exists()


@pytest.fixture
def marketing(admin_user):
    purpose = consent_purpose_upsert(
        actor=admin_user, code="ads", title="Рассылки", text="Согласен на рассылки"
    ).purpose
    purpose_rule_set(
        actor=admin_user,
        purpose=purpose,
        uses=["marketing_email", "marketing_messages"],
        legal_basis="consent",
    )
    return purpose


@pytest.mark.django_db
def test_withdrawal_stops_marketing_but_not_answering_the_person(admin_user, manager, api_for, marketing):
    contact = contact_create(actor=manager, full_name="Орлова Анна")
    consent_record(contact=contact, purpose=marketing, text=marketing.current_text, given_at=timezone.now())
    assert processing_allowed(contact=contact, use="marketing_email")
    response = api_for(manager).post(f"/api/v1/contacts/{contact.pk}/consents/ads/withdraw")
    assert response.status_code == 200 and response.json()["withdrawn"] == 1
    assert Consent.objects.get().withdrawn_at is not None
    # Every channel the purpose covers stops at once, with a message the user understands.
    for use in ["marketing_email", "marketing_messages"]:
        assert not processing_allowed(contact=contact, use=use)
    with pytest.raises(ConsentRequired) as refused:
        processing_require(contact=contact, use="marketing_email")
    assert "Орлова Анна" in str(refused.value) and "Рассылки" in str(refused.value)
    # Processing for the inquiry or a contract needs no consent and goes on.
    assert processing_allowed(contact=contact, use="inquiry")
    assert processing_allowed(contact=contact, use="marketing_calls")


@pytest.mark.django_db
def test_withdraw_outside_scope_or_unknown_purpose_is_404(
    admin_user, manager, other_manager, api_for, marketing
):
    theirs = contact_create(actor=other_manager, full_name="Чужой")
    assert api_for(manager).post(f"/api/v1/contacts/{theirs.pk}/consents/ads/withdraw").status_code == 404
    assert (
        api_for(other_manager).post(f"/api/v1/contacts/{theirs.pk}/consents/nope/withdraw").status_code == 404
    )


@pytest.mark.django_db
def test_consent_proof_has_text_hash_time_and_origin(admin_user, api_for, marketing):
    contact = contact_create(actor=admin_user, full_name="Егоров")
    consent_record(
        contact=contact,
        purpose=marketing,
        text=marketing.current_text,
        given_at=timezone.now(),
        ip="198.51.100.7",
        page_url="https://site.ru/form",
        source="form:callback",
    )
    proof = api_for(admin_user).get(f"/api/v1/contacts/{contact.pk}/consents").json()["results"][0]
    assert proof["text"] == "Согласен на рассылки" and len(proof["text_sha256"]) == 64
    assert (proof["ip"], proof["form"], proof["page_url"]) == (
        "198.51.100.7",
        "form:callback",
        "https://site.ru/form",
    )


@pytest.mark.django_db
def test_manual_consent_needs_the_scan(admin_user, marketing):
    from django.core.exceptions import ValidationError

    contact = contact_create(actor=admin_user, full_name="Без скана")
    with pytest.raises(ValidationError):
        consent_record_manual(actor=admin_user, contact=contact, purpose=marketing, given_at=timezone.now())
    assert not PurposeRule.objects.exclude(purpose=marketing).exists()


@pytest.mark.django_db
def test_access_log_records_card_views_and_searches(admin_user, manager, client, api_for):
    contact = contact_create(actor=manager, full_name="Журавлёв", identities=[("phone", "+79035556677")])
    client.force_login(manager)
    assert client.get(f"/contacts/{contact.pk}/").status_code == 200
    assert client.get("/contacts/", {"q": "8 903 555-66-77"}).status_code == 200
    api_for(manager).get(f"/api/v1/contacts/{contact.pk}")
    rows = api_for(admin_user).get(f"/api/v1/pd-access-log?contact={contact.pk}").json()["results"]
    assert sorted(r["action"] for r in rows) == ["api", "search", "view"]
    assert {r["user"] for r in rows} == {manager.pk}
    search = next(r for r in rows if r["action"] == "search")
    assert search["query"] == "8 903 555-66-77"
    assert api_for(manager).get("/api/v1/pd-access-log").status_code == 403
    assert api_for(admin_user).get("/api/v1/pd-access-log?contact=x").status_code == 400


@pytest.mark.django_db
def test_a_logged_search_looks_its_phone_up_once(manager, api_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from otdel.privacy.models import PDAccessLog

    contact = contact_create(actor=manager, full_name="Журавлёв", identities=[("phone", "+79035556677")])
    other = contact_create(actor=manager, full_name="Другой", identities=[("phone", "+79035550077")])
    api = api_for(manager)
    with CaptureQueriesContext(connection) as queries:
        found = api.get("/api/v1/contacts", {"q": "8 (903) 555-66-77"}).json()["results"]
    assert [row["id"] for row in found] == [contact.pk]
    lookups = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "crm_identity"')]
    assert len(lookups) == 1, lookups
    # The last digits of two people's phones, or an e-mail nobody holds: a search, not one person's.
    api.get("/api/v1/contacts", {"q": "55-66-77"})
    api.get("/api/v1/contacts", {"q": "nobody@example.com"})
    logged = list(PDAccessLog.objects.order_by("id").values_list("query", "contact_id"))
    assert logged == [("8 (903) 555-66-77", contact.pk), ("55-66-77", None), ("nobody@example.com", None)]
    assert other.pk not in {pk for _q, pk in logged}


@pytest.mark.django_db
def test_destroy_by_api_returns_the_act_and_its_pdf(admin_user, manager, api_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contact = contact_create(actor=manager, full_name="Белов Борис", identities=[("phone", "+79037778899")])
    assert api_for(manager).post(f"/api/v1/contacts/{contact.pk}/destroy", {"reason": "x"}).status_code == 403
    api = api_for(admin_user)
    assert api.post(f"/api/v1/contacts/{contact.pk}/destroy", {}, format="json").status_code == 400
    response = api.post(f"/api/v1/contacts/{contact.pk}/destroy", {"reason": "Отзыв согласия"}, format="json")
    assert response.status_code == 200, response.json()
    act = response.json()["act"]
    assert act["subject_name"] == "Белов Борис"
    pdf = api.get(act["pdf_url"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")


@pytest.mark.django_db
def test_breach_has_24_and_72_hour_deadlines_and_prefilled_notices(admin_user, api_for):
    response = api_for(admin_user).post(
        "/api/v1/breaches",
        {
            "title": "Выгрузка базы в открытом доступе",
            "found_at": "2026-12-01T10:00:00+03:00",
            "affected": "120 клиентов",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["deadlines"]["notice_24h_due"].startswith("2026-12-02T10:00:00+03:00")
    assert body["deadlines"]["notice_72h_due"].startswith("2026-12-04T10:00:00+03:00")
    assert "Выгрузка базы в открытом доступе" in body["notices"]["notice_24h"]
    assert "120 клиентов" in body["notices"]["notice_24h"] and "24 часов" in body["notices"]["notice_24h"]
    assert "внутреннего расследования" in body["notices"]["notice_72h"]


@pytest.mark.django_db
def test_withdrawal_request_withdraws_every_purpose(admin_user, api_for, marketing, client):
    contact = contact_create(actor=admin_user, full_name="Всё отозвать")
    pd = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Да").purpose
    for purpose in (pd, marketing):
        consent_record(contact=contact, purpose=purpose, text=purpose.current_text, given_at=timezone.now())
    created = (
        api_for(admin_user)
        .post("/api/v1/subject-requests", {"kind": "withdrawal", "contact": contact.pk}, format="json")
        .json()
    )
    client.force_login(admin_user)
    client.post(f"/privacy/requests/{created['id']}/", {"action": "withdraw"})
    assert not Consent.objects.filter(contact=contact, withdrawn_at__isnull=True).exists()
    assert not processing_allowed(contact=contact, use="marketing_email")


@pytest.mark.django_db
def test_access_log_page_shows_the_persons_rows(admin_user, manager, client):
    contact = contact_create(actor=manager, full_name="Смотрели")
    client.force_login(manager)
    client.get(f"/contacts/{contact.pk}/")
    client.force_login(admin_user)
    html = client.get(f"/privacy/access-log/?contact={contact.pk}").content.decode()
    rows = [r for r in html.split("<tr") if 'data-testid="access-row"' in r]
    assert len(rows) == 1 and manager.get_full_name() in rows[0]


@pytest.mark.django_db
def test_the_access_log_keeps_a_nul_byte_visible(manager):
    """PostgreSQL refuses NUL in text: the row is still written, with the byte shown as ``\\x00``
    (the pages refuse such a query string before this; an export's filter may still carry one)."""
    from otdel.privacy.access import pd_access_record
    from otdel.privacy.models import AccessAction

    row = pd_access_record(user=manager, action=AccessAction.SEARCH, query="Журав\x00лёв", path="/x\x00")
    row.refresh_from_db()
    assert (row.query, row.path) == ("Журав\\x00лёв", "/x\\x00")

"""Web forms through the API: building forms, public submissions with consents, spam and CORS."""

import hashlib
import json

import pytest

from otdel.comms.models import IntakeLog, Interaction, WebForm
from otdel.crm.models import Contact, Identity, Lead
from otdel.privacy.models import Consent, ConsentText
from otdel.privacy.services import consent_purpose_upsert
from otdel.routing.models import Queue, QueueMember

PD_TEXT = "Я согласен на обработку моих персональных данных ООО «Ромашка» для ответа на заявку."
SUBMIT = "/api/v1/forms/callback/submissions"


@pytest.fixture
def queue(manager):
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=manager)
    return queue


@pytest.fixture
def purpose(admin_user):
    return consent_purpose_upsert(
        actor=admin_user, code="pd", title="Обработка персональных данных", text=PD_TEXT
    ).purpose


@pytest.fixture
def webform(api_for, admin_user, queue, purpose):
    response = api_for(admin_user).post(
        "/api/v1/forms",
        {
            "slug": "callback",
            "name": "Обратный звонок",
            "queue": "sales",
            "consent_purposes": ["pd"],
            "fields": [
                {"name": "company", "label": "Компания", "type": "text"},
                {"name": "size", "label": "Размер", "type": "select", "options": ["до 10", "больше 10"]},
            ],
            "allowed_origins": ["https://shop.example.ru"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return WebForm.objects.get(slug="callback")


def _submission(**overrides):
    data = {
        "name": "Пётр Петров",
        "phone": "8 (912) 345-67-89",
        "email": "Petrov@Example.ru",
        "message": "Перезвоните, пожалуйста",
        "company": "ООО Вектор",
        "size": "до 10",
        "consents": {"pd": True},
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "winter",
        "page_url": "https://shop.example.ru/landing?utm_source=yandex",
    }
    data.update(overrides)
    return data


def _nothing_stored():
    return not (
        Contact.objects.exists()
        or Lead.objects.exists()
        or Interaction.objects.exists()
        or Consent.objects.exists()
        or Identity.objects.exists()
    )


# --- consent purposes ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_consent_purpose_text_versions(api_for, admin_user):
    client = api_for(admin_user)
    url = "/api/v1/consent-purposes"
    response = client.post(url, {"code": "pd", "title": "ПДн", "text": "Текст 1"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["version"], body["text"]) == (1, "Текст 1")
    assert body["sha256"] == hashlib.sha256("Текст 1".encode()).hexdigest()

    response = client.post(url, {"code": "pd", "title": "ПДн", "text": "Текст 1"}, format="json")
    assert response.status_code == 200
    assert ConsentText.objects.count() == 1

    response = client.post(url, {"code": "pd", "title": "ПДн", "text": "Текст 2"}, format="json")
    assert response.status_code == 201
    assert [v["version"] for v in response.json()["versions"]] == [2, 1]

    listing = client.get(url).json()["results"]
    assert [(p["code"], p["version"], p["text"]) for p in listing] == [("pd", 2, "Текст 2")]
    assert listing[0]["sha256"] == hashlib.sha256("Текст 2".encode()).hexdigest()
    assert client.get(f"{url}/pd").json()["versions"][1]["text"] == "Текст 1"


@pytest.mark.django_db
def test_consent_purposes_are_for_admins(api_for, manager):
    assert api_for(None).get("/api/v1/consent-purposes").status_code == 401
    response = api_for(manager).post(
        "/api/v1/consent-purposes", {"code": "pd", "title": "t", "text": "x"}, format="json"
    )
    assert response.status_code == 403
    assert not ConsentText.objects.exists()


@pytest.mark.django_db
def test_consent_purpose_bad_input(api_for, admin_user):
    response = api_for(admin_user).post(
        "/api/v1/consent-purposes", {"code": "не код", "title": "t", "text": "   "}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"code", "text"}


# --- building forms -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_form_created_with_public_url_and_snippet(api_for, admin_user, webform, settings):
    settings.OTDEL_PUBLIC_URL = "https://crm.example.ru"
    body = api_for(admin_user).get("/api/v1/forms/callback").json()
    assert body["queue"] == "sales" and body["consent_purposes"] == ["pd"]
    assert body["public_url"] == "https://crm.example.ru/f/callback"
    assert body["submit_url"] == "https://crm.example.ru/api/v1/forms/callback/submissions"
    assert body["allowed_origins"] == ["https://shop.example.ru"]
    assert '<div data-otdel-form="callback"></div>' in body["embed_snippet"]
    snippet = 'src="https://crm.example.ru/static/comms/embed.js" data-otdel="https://crm.example.ru"'
    assert snippet in body["embed_snippet"]
    settings.OTDEL_PUBLIC_URL = ""  # not configured: the address the API was called by
    assert (
        api_for(admin_user).get("/api/v1/forms/callback").json()["public_url"]
        == "http://testserver/f/callback"
    )
    assert [f["name"] for f in body["fields"]] == ["company", "size"]
    assert api_for(admin_user).get("/api/v1/forms").json()["count"] == 1


@pytest.mark.django_db
def test_form_unknown_queue_or_purpose_is_field_error(api_for, admin_user, queue, purpose):
    response = api_for(admin_user).post(
        "/api/v1/forms",
        {
            "slug": "x",
            "name": "X",
            "queue": "nope",
            "consent_purposes": ["pd", "ghost"],
            "allowed_origins": "ftp://a/b",
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"queue", "consent_purposes", "allowed_origins"}
    assert "nope" in errors["queue"][0] and "ghost" in errors["consent_purposes"][0]
    assert not WebForm.objects.exists()


@pytest.mark.django_db
def test_form_fields_definition_checked(api_for, admin_user):
    response = api_for(admin_user).post(
        "/api/v1/forms",
        {
            "slug": "x" * 60,
            "name": "X",
            "fields": [{"name": "phone", "label": "P"}, {"name": "k", "type": "select"}],
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors["fields"]) == 3  # reserved name, no label, no options
    assert errors["slug"] == ["At most 59 characters."]


@pytest.mark.django_db
def test_form_patch_duplicate_slug_and_stale_version(api_for, admin_user, webform):
    client = api_for(admin_user)
    response = client.patch(
        "/api/v1/forms/callback", {"success_message": "Спасибо!", "queue": None, "version": 1}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["success_message"] == "Спасибо!" and response.json()["queue"] is None
    assert (
        client.patch("/api/v1/forms/callback", {"name": "Y", "version": 1}, format="json").status_code == 409
    )
    client.post("/api/v1/forms", {"slug": "other", "name": "Other"}, format="json")
    response = client.post("/api/v1/forms", {"slug": "other", "name": "Again"}, format="json")
    assert response.status_code == 409 and "slug" in response.json()["errors"]


@pytest.mark.django_db
def test_forms_are_for_admins(api_for, manager, webform):
    assert api_for(manager).get("/api/v1/forms").status_code == 403
    assert (
        api_for(manager).post("/api/v1/forms", {"slug": "a", "name": "A"}, format="json").status_code == 403
    )
    assert api_for(None).get("/api/v1/forms/callback").status_code == 401


# --- submissions --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submission_creates_contact_lead_interaction_and_consent(api_for, webform, manager):
    response = api_for(None).post(SUBMIT, _submission(), format="json", HTTP_USER_AGENT="Mozilla/5.0 Test")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "accepted"

    contact = Contact.objects.get()
    assert contact.full_name == "Пётр Петров"
    assert set(contact.identities.values_list("kind", "value")) == {
        ("phone", "+79123456789"),
        ("email", "petrov@example.ru"),
    }
    lead = Lead.objects.get()
    assert (lead.source, lead.channel, lead.contact) == ("form", "form", contact)
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("yandex", "cpc", "winter")
    assert lead.page_url == "https://shop.example.ru/landing?utm_source=yandex"
    assert lead.responsible == manager

    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.channel, interaction.provider) == ("form", "form", "form:callback")
    assert interaction.lead == lead and interaction.routed_queue == "sales"
    assert "Перезвоните, пожалуйста" in interaction.body and "Компания: ООО Вектор" in interaction.body
    assert interaction.summary.startswith("Обратный звонок")

    consent = Consent.objects.get()
    text = ConsentText.objects.get()
    assert (consent.contact, consent.purpose.code, consent.text) == (contact, "pd", text)
    assert consent.text.version == 1
    assert consent.text.sha256 == hashlib.sha256(PD_TEXT.encode()).hexdigest()
    assert (consent.ip, consent.user_agent, consent.source) == (
        "127.0.0.1",
        "Mozilla/5.0 Test",
        "form:callback",
    )
    assert consent.page_url == lead.page_url and consent.interaction == interaction
    log = IntakeLog.objects.get()
    assert (log.status, log.interaction) == ("processed", interaction)


@pytest.mark.django_db
def test_same_phone_in_another_format_attaches_to_the_same_contact(api_for, webform):
    client = api_for(None)
    assert client.post(SUBMIT, _submission(email=""), format="json").status_code == 201
    response = client.post(
        SUBMIT, _submission(phone="+7 912 345 67 89", email="", name="Петя"), format="json"
    )
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert contact.interactions.count() == 2
    assert Lead.objects.count() == 1  # the repeat attaches to the open lead
    assert Consent.objects.filter(contact=contact).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("consents", [{}, {"pd": False}, None, {"other": True}])
def test_missing_consent_is_400_and_nothing_is_stored(api_for, webform, consents):
    data = _submission()
    if consents is None:
        del data["consents"]
    else:
        data["consents"] = consents
    response = api_for(None).post(SUBMIT, data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == ["consents.pd"] and body["code"] == "consent_required"
    assert "Обработка персональных данных" in body["errors"]["consents.pd"][0]
    assert _nothing_stored()
    log = IntakeLog.objects.get()
    assert log.status == "rejected" and "consents.pd" in log.error
    # No consent, so the person's data is not kept even in the log.
    assert (
        "912" not in log.body and "Petrov" not in log.body and json.loads(log.body)["utm_source"] == "yandex"
    )


@pytest.mark.django_db
def test_no_way_to_reach_the_person_is_400(api_for, webform):
    client = api_for(None)
    response = client.post(SUBMIT, _submission(phone="", email=""), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"phone", "email"} and response.json()["code"] == "no_contact"
    response = client.post(SUBMIT, _submission(phone="12", email=""), format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["phone"]
    response = client.post(SUBMIT, _submission(phone="", email="not-an-address"), format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["email"]
    assert _nothing_stored()


@pytest.mark.django_db
def test_email_only_is_enough(api_for, webform):
    response = api_for(None).post(SUBMIT, _submission(phone=""), format="json")
    assert response.status_code == 201
    assert Contact.objects.get().identities.get().value == "petrov@example.ru"


@pytest.mark.django_db
def test_invalid_values_are_400(api_for, webform):
    response = api_for(None).post(
        SUBMIT,
        _submission(size="огромный", utm_source="x" * 300, page_url="javascript:alert(1)", name={"a": 1}),
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"size", "utm_source", "page_url", "name"}
    assert api_for(None).post(SUBMIT, [1, 2], format="json").status_code == 400
    assert (
        api_for(None).post(SUBMIT, "name=x", content_type="application/x-www-form-urlencoded").status_code
        == 415
    )
    assert _nothing_stored()


@pytest.mark.django_db
def test_unknown_or_inactive_form_is_404(api_for, webform):
    client = api_for(None)
    assert client.post("/api/v1/forms/nope/submissions", _submission(), format="json").status_code == 404
    assert client.get("/api/v1/forms/nope/public").status_code == 404
    WebForm.objects.filter(pk=webform.pk).update(is_active=False)
    response = client.post(SUBMIT, _submission(), format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get("/f/callback").status_code == 404
    assert _nothing_stored()


@pytest.mark.django_db
def test_honeypot_fools_the_bot_and_stores_nothing(api_for, webform):
    response = api_for(None).post(SUBMIT, _submission(website="http://spam.example"), format="json")
    assert response.status_code == 201 and response.json()["status"] == "accepted"
    assert _nothing_stored()
    log = IntakeLog.objects.get()
    assert log.status == "rejected" and "honeypot" in log.error


@pytest.mark.django_db
def test_rate_limit_per_ip(api_for, webform):
    WebForm.objects.filter(pk=webform.pk).update(rate_limit_per_minute=3)
    client = api_for(None)
    statuses = [
        client.post(SUBMIT, _submission(phone=f"+7912000000{i}"), format="json").status_code for i in range(3)
    ]
    assert statuses == [201, 201, 201]
    response = client.post(SUBMIT, _submission(), format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and response.json()["errors"]["__all__"]
    assert response["Retry-After"] == "60"
    assert Interaction.objects.count() == 3 and IntakeLog.objects.count() == 3
    # Another visitor is not affected.
    assert client.post(SUBMIT, _submission(), format="json", REMOTE_ADDR="10.1.2.3").status_code == 201


@pytest.mark.django_db
def test_bad_submissions_count_towards_the_rate_limit(api_for, webform):
    WebForm.objects.filter(pk=webform.pk).update(rate_limit_per_minute=2)
    client = api_for(None)
    assert client.post(SUBMIT, _submission(website="x"), format="json").status_code == 201
    assert client.post(SUBMIT, _submission(consents={}), format="json").status_code == 400
    assert client.post(SUBMIT, _submission(), format="json").status_code == 429
    assert _nothing_stored()


@pytest.mark.django_db
def test_idempotency_key_makes_retries_harmless(api_for, webform):
    client = api_for(None)
    for _attempt in range(3):
        response = client.post(SUBMIT, _submission(), format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
        assert response.status_code == 201
    interaction = Interaction.objects.get()
    assert interaction.external_id == "retry-1"
    assert Consent.objects.count() == 1 and Lead.objects.count() == 1


@pytest.mark.django_db
def test_failure_midway_leaves_only_the_intake_log(api_for, webform, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("otdel.comms.webforms.services.consent_record", broken)
    response = api_for(None).post(SUBMIT, _submission(), format="json")
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert _nothing_stored()
    log = IntakeLog.objects.get()
    assert log.status == "failed" and "disk full" in log.error and "Пётр" in log.body


@pytest.mark.django_db
def test_old_consents_keep_their_text_version(api_for, admin_user, webform):
    client = api_for(None)
    assert client.post(SUBMIT, _submission(), format="json").status_code == 201
    new_text = PD_TEXT + " Согласие можно отозвать письмом."
    api_for(admin_user).post(
        "/api/v1/consent-purposes", {"code": "pd", "title": "Обработка ПДн", "text": new_text}, format="json"
    )
    assert client.post(SUBMIT, _submission(phone="+79990001122"), format="json").status_code == 201
    first, second = Consent.objects.order_by("id")
    assert (first.text.version, first.text.text) == (1, PD_TEXT)
    assert first.text.sha256 == hashlib.sha256(PD_TEXT.encode()).hexdigest()
    assert (second.text.version, second.text.text) == (2, new_text)
    assert second.text.sha256 == hashlib.sha256(new_text.encode()).hexdigest()


@pytest.mark.django_db
def test_consent_text_changed_while_the_page_was_open(api_for, admin_user, webform):
    consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Новая редакция")
    response = api_for(None).post(SUBMIT, _submission(consent_versions={"pd": 1}), format="json")
    assert response.status_code == 400 and response.json()["code"] == "consent_text_changed"
    assert _nothing_stored()
    response = api_for(None).post(SUBMIT, _submission(consent_versions={"pd": 2}), format="json")
    assert response.status_code == 201
    assert Consent.objects.get().text.version == 2


# --- public definition and CORS -----------------------------------------------------------------


@pytest.mark.django_db
def test_public_definition(api_for, webform):
    response = api_for(None).get("/api/v1/forms/callback/public", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert [f["name"] for f in body["fields"]] == ["name", "phone", "email", "message", "company", "size"]
    assert body["fields"][5]["options"] == ["до 10", "больше 10"]
    assert body["consents"] == [
        {
            "code": "pd",
            "title": "Обработка персональных данных",
            "text": PD_TEXT,
            "version": 1,
            "sha256": hashlib.sha256(PD_TEXT.encode()).hexdigest(),
        }
    ]
    assert body["submit_url"].endswith("/api/v1/forms/callback/submissions")
    assert body["labels"]["submit"] == "Send" and body["honeypot"] == "website"


@pytest.mark.django_db
def test_cors_preflight_and_headers_for_allowed_origins(api_for, webform):
    client = api_for(None)
    origin = "https://shop.example.ru"
    response = client.options(
        SUBMIT,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,idempotency-key",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == origin
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in response["Access-Control-Allow-Headers"]
    assert "Origin" in response["Vary"]

    response = client.post(SUBMIT, _submission(), format="json", HTTP_ORIGIN=origin)
    assert response.status_code == 201 and response["Access-Control-Allow-Origin"] == origin
    # Errors must be readable by the page too, or the visitor sees no message.
    response = client.post(SUBMIT, _submission(consents={}), format="json", HTTP_ORIGIN=origin)
    assert response.status_code == 400 and response["Access-Control-Allow-Origin"] == origin
    response = client.get("/api/v1/forms/callback/public", HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin


@pytest.mark.django_db
def test_cors_refuses_other_origins(api_for, webform):
    client = api_for(None)
    evil = "https://evil.example.com"
    response = client.options(SUBMIT, HTTP_ORIGIN=evil, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response
    response = client.post(SUBMIT, _submission(), format="json", HTTP_ORIGIN=evil)
    assert response.status_code == 403 and response.json()["code"] == "origin_not_allowed"
    assert _nothing_stored()
    # Same site as Otdel itself, and servers that send no Origin, are fine.
    assert (
        client.post(SUBMIT, _submission(), format="json", HTTP_ORIGIN="http://testserver").status_code == 201
    )


@pytest.mark.django_db
def test_cors_wildcard(api_for, admin_user, webform):
    api_for(admin_user).patch("/api/v1/forms/callback", {"allowed_origins": "*"}, format="json")
    response = api_for(None).post(SUBMIT, _submission(), format="json", HTTP_ORIGIN="https://any.example")
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://any.example"


@pytest.mark.django_db
def test_openapi_schema_describes_the_form_endpoints(api_for, admin_user):
    response = api_for(admin_user).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/forms",
        "/api/v1/forms/{slug}",
        "/api/v1/forms/{slug}/public",
        "/api/v1/forms/{slug}/submissions",
        "/api/v1/consent-purposes",
    ):
        assert path in paths, path


@pytest.mark.django_db
def test_list_query_counts_do_not_grow_with_rows(
    api_for, admin_user, queue, purpose, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_for(admin_user)

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def add(n):
        client.post(
            "/api/v1/forms",
            {"slug": f"f{n}", "name": f"F{n}", "queue": "sales", "consent_purposes": ["pd"]},
            format="json",
        )
        client.post(
            "/api/v1/consent-purposes", {"code": f"p{n}", "title": "T", "text": f"t{n}"}, format="json"
        )

    add(0)
    one = (count("/api/v1/forms"), count("/api/v1/consent-purposes"))
    for n in range(1, 6):
        add(n)
    assert (count("/api/v1/forms"), count("/api/v1/consent-purposes")) == one


@pytest.mark.django_db
def test_visitor_ip_behind_our_proxy(api_for, webform):
    client = api_for(None)
    # nginx on the same machine adds the visitor at the end of X-Forwarded-For; the left part is forgeable.
    forwarded = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}
    assert client.post(SUBMIT, _submission(), format="json", **forwarded).status_code == 201
    # A client talking to Otdel directly cannot pretend to be someone else.
    direct = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.post(SUBMIT, _submission(phone="+79990001122"), format="json", **direct).status_code == 201
    assert list(Consent.objects.order_by("id").values_list("ip", flat=True)) == [
        "203.0.113.9",
        "198.51.100.7",
    ]
    assert list(IntakeLog.objects.order_by("id").values_list("remote_addr", flat=True)) == [
        "203.0.113.9",
        "198.51.100.7",
    ]

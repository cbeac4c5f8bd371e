"""Consent purposes and their texts edited on a page (not only by API), linked from the form editor."""

import pytest

from otdel.crm.services import contact_create
from otdel.privacy.models import ConsentPurpose, ConsentText, PurposeRule
from otdel.privacy.services import consent_purpose_upsert, consent_record

pytestmark = pytest.mark.django_db

FORM = {
    "code": "newsletter",
    "title": "Рассылки",
    "text": "Я согласен получать рассылки.",
    "is_active": "on",
    "legal_basis": "consent",
    "uses": ["marketing_email", "marketing_messages"],
    "categories": ["name", "contact_details"],
    "description": "Письма об акциях",
    "retention_months": "36",
}


def test_admin_makes_a_purpose_with_its_text_and_rule(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/privacy/purposes/").status_code == 200
    assert client.get("/privacy/purposes/new/").status_code == 200
    response = client.post("/privacy/purposes/new/", FORM)
    assert response.status_code == 302 and response["Location"] == "/privacy/purposes/newsletter/"
    purpose = ConsentPurpose.objects.get(code="newsletter")
    assert purpose.title == "Рассылки" and purpose.is_active
    assert purpose.current_text.text == "Я согласен получать рассылки." and purpose.current_text.version == 1
    rule = PurposeRule.objects.get(purpose=purpose)
    assert rule.uses == ["marketing_email", "marketing_messages"] and rule.retention_months == 36
    page = client.get("/privacy/purposes/").content.decode()
    assert "Рассылки" in page and "/privacy/purposes/newsletter/" in page


def test_a_changed_text_is_a_new_version_and_old_consents_keep_theirs(client, admin_user):
    saved = consent_purpose_upsert(
        actor=admin_user, code="newsletter", title="Рассылки", text="Старый текст."
    )
    contact = contact_create(
        actor=admin_user, full_name="Орлова Анна", identities=[("phone", "+79123456789")]
    )
    consent = consent_record(
        contact=contact, purpose=saved.purpose, text=saved.text, given_at=saved.text.created_at
    )
    client.force_login(admin_user)
    response = client.post("/privacy/purposes/newsletter/", {**FORM, "code": "other", "text": "Новый текст."})
    assert response.status_code == 302
    assert list(ConsentText.objects.filter(purpose=saved.purpose).values_list("version", "text")) == [
        (2, "Новый текст."),
        (1, "Старый текст."),
    ]
    consent.refresh_from_db()
    assert consent.text.version == 1
    assert ConsentPurpose.objects.filter(code="other").count() == 0  # the code is fixed once made
    page = client.get("/privacy/purposes/newsletter/").content.decode()
    assert "Новый текст." in page and "Старый текст." in page
    # Saving the same text again makes no new version.
    client.post("/privacy/purposes/newsletter/", {**FORM, "text": "Новый текст."})
    assert ConsentText.objects.filter(purpose=saved.purpose).count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "не код"}, "code"),
        ({"title": ""}, "title"),
        ({"text": "   "}, "text"),
        ({"legal_basis": "whim"}, "legal_basis"),
        ({"uses": ["spying"]}, "uses"),
        ({"categories": ["shoe_size"]}, "categories"),
        ({"retention_months": "-1"}, "retention_months"),
    ],
)
def test_bad_input_is_shown_on_the_field_and_nothing_is_saved(client, admin_user, change, field):
    client.force_login(admin_user)
    response = client.post("/privacy/purposes/new/", {**FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ConsentPurpose.objects.exists()


def test_a_taken_code_is_refused(client, admin_user):
    consent_purpose_upsert(actor=admin_user, code="newsletter", title="Рассылки", text="Текст.")
    client.force_login(admin_user)
    response = client.post("/privacy/purposes/new/", {**FORM, "text": "Другой текст."})
    assert response.status_code == 200 and "code" in response.context["form"].errors
    assert ConsentText.objects.count() == 1


def test_only_administrators_edit_purposes(client, manager):
    client.force_login(manager)
    assert client.get("/privacy/purposes/").status_code == 404
    assert client.post("/privacy/purposes/new/", FORM).status_code == 404
    assert client.get("/privacy/purposes/unknown/").status_code == 404


def test_the_web_form_editor_links_to_the_purposes(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/settings/channels/forms/new/").content.decode()
    assert 'data-testid="edit-consent-purposes"' in page and 'href="/privacy/purposes/"' in page

"""Consent purposes with versioned wording, and recording consents."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from otdel.core.models import ObjectChange
from otdel.crm.tests.factories import ContactFactory
from otdel.privacy.models import Consent, ConsentPurpose, ConsentText
from otdel.privacy.services import consent_purpose_upsert, consent_record


@pytest.mark.django_db
def test_new_purpose_gets_version_one_with_its_hash(admin_user):
    result = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="  Согласен.\r\n")
    assert (result.created, result.new_version) == (True, True)
    assert (result.text.version, result.text.text) == (1, "Согласен.")
    assert result.text.sha256 == hashlib.sha256("Согласен.".encode()).hexdigest()


@pytest.mark.django_db
def test_same_wording_is_not_a_new_version_changed_wording_is(admin_user):
    consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Строка 1\nСтрока 2")
    same = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Строка 1\r\nСтрока 2  \n")
    assert (same.created, same.new_version, same.text.version) == (False, False, 1)
    changed = consent_purpose_upsert(
        actor=admin_user, code="pd", title="ПДн (ред.)", text="Строка 1\nСтрока 3"
    )
    assert (changed.created, changed.new_version, changed.text.version) == (False, True, 2)
    assert ConsentPurpose.objects.get().title == "ПДн (ред.)"
    assert list(ConsentText.objects.values_list("version", flat=True)) == [2, 1]
    # Who replaced the wording is in the change log.
    change = ObjectChange.objects.filter(message="consent text changed").get()
    assert change.user == admin_user and change.changes["text_version"] == [1, 2]


@pytest.mark.django_db
def test_bad_purpose_input_reports_each_field(admin_user):
    with pytest.raises(ValidationError) as caught:
        consent_purpose_upsert(actor=admin_user, code="", title="", text="")
    assert set(caught.value.message_dict) == {"code", "title", "text"}
    assert not ConsentPurpose.objects.exists()


@pytest.mark.django_db
def test_consent_keeps_the_version_it_was_given_for(admin_user):
    contact = ContactFactory()
    first = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Версия 1")
    consent = consent_record(
        contact=contact,
        purpose=first.purpose,
        text=first.text,
        given_at=timezone.now(),
        ip="203.0.113.5",
        user_agent="UA",
        page_url="https://example.ru/",
        source="form:x",
    )
    consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Версия 2")
    consent.refresh_from_db()
    assert (consent.text.version, consent.text.text, consent.ip) == (1, "Версия 1", "203.0.113.5")


@pytest.mark.django_db
def test_consent_text_must_belong_to_the_purpose(admin_user):
    pd = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="a")
    ads = consent_purpose_upsert(actor=admin_user, code="ads", title="Реклама", text="b")
    with pytest.raises(ValidationError):
        consent_record(contact=ContactFactory(), purpose=pd.purpose, text=ads.text, given_at=timezone.now())
    assert not Consent.objects.exists()

"""A new e-mail address or Telegram account of a person Otdel knows: the lead offers the merge."""

from __future__ import annotations

import pytest
from django.utils import timezone

from otdel.comms.services import InboundEvent, ingest_event
from otdel.crm import services
from otdel.crm.models import Contact, Identity
from otdel.crm.selectors import lead_merge_candidates, lead_merge_elsewhere, merge_candidates
from otdel.crm.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def _message(*, channel: str, identity: str, name: str) -> InboundEvent:
    kind = "email" if channel == "email" else "telegram"
    return InboundEvent(
        provider=f"{channel}:test",
        external_id=f"{identity}:1",
        kind="email" if channel == "email" else "message",
        channel=channel,
        occurred_at=timezone.now(),
        identity_kind=kind,
        identity_value=identity,
        contact_name=name,
        subject="Вопрос",
        body="Добрый день",
    )


def test_a_telegram_message_from_a_new_account_with_a_known_name_offers_the_merge(head, manager):
    known = services.contact_create(
        actor=head, full_name="Петров Пётр", identities=[("phone", "+79123456789")], responsible=manager
    )
    services.contact_create(actor=head, full_name="Петров Иван", responsible=manager)
    lead = ingest_event(_message(channel="telegram", identity="5551234", name="пётр петров")).interaction.lead
    assert lead is not None and lead.contact_id != known.pk
    assert lead_merge_candidates(user=head, lead=lead) == [known]


def test_an_email_with_a_patronymic_more_matches_ё_or_е_alike(head):
    known = services.contact_create(actor=head, full_name="Семёнова Ольга", responsible=head)
    lead = ingest_event(
        _message(channel="email", identity="olga@client.ru", name="Семенова Ольга Петровна")
    ).interaction.lead
    assert lead_merge_candidates(user=head, lead=lead) == [known]


def test_one_word_or_an_address_for_a_name_matches_nobody(head):
    services.contact_create(actor=head, full_name="Ольга Смирнова", responsible=head)
    lone = services.contact_create(actor=head, full_name="Ольга")
    address = services.contact_create(actor=head, full_name="olga@client.ru")
    assert merge_candidates(user=head, contact=lone) == []
    assert merge_candidates(user=head, contact=address) == []


def test_the_same_company_and_a_word_of_the_name_in_common(head):
    company = CompanyFactory(name="ООО Станкопром")
    known = services.contact_create(
        actor=head, full_name="Кузнецов Андрей", company=company, responsible=head
    )
    services.contact_create(actor=head, full_name="Иванова Мария", company=company, responsible=head)
    newcomer = services.contact_create(actor=head, full_name="Андрей", company=company)
    assert merge_candidates(user=head, contact=newcomer) == [known]


def test_a_salesperson_is_offered_only_contacts_they_may_see_and_told_whose_the_others_are(
    manager, other_manager
):
    services.contact_create(actor=other_manager, full_name="Петров Пётр", responsible=other_manager)
    newcomer = services.contact_create(actor=manager, full_name="Пётр Петров", responsible=manager)
    assert merge_candidates(user=manager, contact=newcomer) == []
    lead = services.lead_create(actor=manager, contact=newcomer, source="email", channel="email")
    assert lead_merge_elsewhere(user=manager, lead=lead, offered=[]) == [other_manager]


def test_triaged_or_phone_leads_are_not_checked(head):
    services.contact_create(actor=head, full_name="Петров Пётр", responsible=head)
    newcomer = services.contact_create(actor=head, full_name="Пётр Петров")
    lead = services.lead_create(actor=head, contact=newcomer, source="call", channel="call")
    assert lead_merge_candidates(user=head, lead=lead) == []


def test_one_click_merges_through_triage_and_keeps_the_new_address(client, head):
    known = services.contact_create(actor=head, full_name="Петров Пётр", responsible=head)
    lead = ingest_event(
        _message(channel="email", identity="petrov@new.ru", name="Пётр Петров")
    ).interaction.lead
    client.force_login(head)
    page = client.get("/leads/")
    assert 'data-testid="merge-suggestion"' in page.content.decode()
    prefix = f"lead{lead.pk}"
    response = client.post(
        f"/leads/{lead.pk}/triage/", {f"{prefix}-verdict": "duplicate", f"{prefix}-duplicate_of": known.pk}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.verdict == "duplicate" and lead.contact_id == known.pk
    assert Identity.objects.get(value="petrov@new.ru").contact_id == known.pk
    assert Contact.objects.filter(merged_into=known).count() == 1

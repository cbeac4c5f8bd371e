"""The daily jobs: retention proposals (an administrator confirms) and request reminders."""

import datetime

import pytest
from django.utils import timezone

from otdel.automation.models import Notification
from otdel.crm.models import Contact
from otdel.crm.services import contact_create, deal_create
from otdel.privacy.models import DestructionProposal, SubjectRequest
from otdel.privacy.services import consent_purpose_upsert, consent_record, consent_withdraw
from otdel.privacy.tasks import retention_scan, subject_request_reminders


def age(contact, days):
    Contact.objects.filter(pk=contact.pk).update(updated_at=timezone.now() - datetime.timedelta(days=days))


@pytest.mark.django_db
def test_old_leads_are_proposed_clients_and_recent_people_are_not(admin_user, manager, pipeline):
    old_lead = contact_create(actor=manager, full_name="Старый лид")
    age(old_lead, 400)
    fresh = contact_create(actor=manager, full_name="Новый лид")
    client = contact_create(actor=manager, full_name="Клиент")
    deal_create(actor=manager, title="Сделка", contact=client)
    age(client, 400)
    assert retention_scan.call() == 1
    proposal = DestructionProposal.objects.get()
    assert proposal.contact == old_lead and "12" in proposal.reason
    assert retention_scan.call() == 0  # proposed once, not every day
    assert not DestructionProposal.objects.filter(contact__in=[fresh, client]).exists()


@pytest.mark.django_db
def test_withdrawn_consent_is_proposed_after_30_days(admin_user, manager):
    contact = contact_create(actor=manager, full_name="Отозвал")
    purpose = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Да").purpose
    consent = consent_record(
        contact=contact, purpose=purpose, text=purpose.current_text, given_at=timezone.now()
    )
    consent_withdraw(actor=manager, contact=contact, purpose=purpose)
    assert retention_scan.call() == 0
    type(consent).objects.update(withdrawn_at=timezone.now() - datetime.timedelta(days=31))
    assert retention_scan.call() == 1
    assert "30" in DestructionProposal.objects.get(contact=contact).reason


@pytest.mark.django_db
def test_reminders_go_to_the_responsible_for_due_and_overdue_requests(admin_user):
    today = timezone.localdate()
    due = SubjectRequest.objects.create(
        kind="access", requester="А", received_at=timezone.now(), due_at=today, responsible=admin_user
    )
    SubjectRequest.objects.create(
        kind="access",
        requester="Б",
        received_at=timezone.now(),
        due_at=today + datetime.timedelta(days=30),
        responsible=admin_user,
    )
    assert subject_request_reminders.call() == 1
    note = Notification.objects.get(user=admin_user)
    assert f"#{due.pk}" in note.title
    assert subject_request_reminders.call() == 0  # once a day

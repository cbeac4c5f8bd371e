"""CRM services: the rules a sales department relies on."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from otdel.core.exceptions import ConflictError
from otdel.core.models import ObjectChange
from otdel.crm import services
from otdel.crm.models import Contact, Deal, Identity, Lead, Note, Stage
from otdel.crm.tests.factories import ContactFactory, DealFactory, LeadFactory, LostReasonFactory
from otdel.routing.triage import lead_triage


def test_contact_create_normalizes_identities(manager):
    contact = services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        identities=[
            {"kind": "phone", "value": "8 (912) 345-67-89"},
            {"kind": "email", "value": " P@Mail.RU "},
        ],
    )
    assert sorted(contact.identities.values_list("kind", "value")) == [
        ("email", "p@mail.ru"),
        ("phone", "+79123456789"),
    ]
    assert ObjectChange.objects.filter(object_id=contact.pk, action="create").exists()


def test_contact_create_rejects_invalid_phone_and_saves_nothing(manager):
    with pytest.raises(ValidationError) as exc:
        services.contact_create(actor=manager, full_name="X", identities=[("phone", "123")])
    assert "identities" in exc.value.message_dict
    assert not Contact.objects.exists()


def test_identity_held_by_another_contact_is_a_conflict(manager):
    services.contact_create(actor=manager, full_name="A", identities=[("phone", "+79123456789")])
    with pytest.raises(ConflictError) as exc:
        services.contact_create(actor=manager, full_name="B", identities=[("phone", "89123456789")])
    assert exc.value.code == "identity_taken"
    assert Contact.objects.count() == 1


def test_merge_moves_everything_and_keeps_tombstone(manager, pipeline):
    source = services.contact_create(actor=manager, full_name="Дубль", identities=[("email", "a@b.ru")])
    target = services.contact_create(
        actor=manager, full_name="Оригинал", identities=[("phone", "+79123456789")]
    )
    deal = DealFactory(contact=source, pipeline=pipeline)
    lead = LeadFactory(contact=source)
    note = services.note_create(actor=manager, body="звонил", contact=source)
    services.contact_merge(actor=manager, source=source, target=target)
    assert set(target.identities.values_list("value", flat=True)) == {"a@b.ru", "+79123456789"}
    for obj in (deal, lead, note, source):
        obj.refresh_from_db()
    assert (deal.contact_id, lead.contact_id, note.contact_id) == (target.pk,) * 3
    assert source.merged_into_id == target.pk
    assert ObjectChange.objects.filter(object_id=target.pk, action="merge").exists()


def test_merge_into_itself_is_refused(manager):
    contact = ContactFactory()
    with pytest.raises(ValidationError) as exc:
        services.contact_merge(actor=manager, source=contact, target=contact)
    assert "target" in exc.value.message_dict


def test_deal_stage_from_another_pipeline_is_refused(manager, pipeline):
    from otdel.crm.tests.factories import PipelineFactory

    other = PipelineFactory(name="Другая", is_default=False)
    deal = DealFactory(pipeline=pipeline)
    with pytest.raises(ValidationError) as exc:
        services.deal_move(actor=manager, deal=deal, stage=other.stages.first())
    assert "stage" in exc.value.message_dict
    deal.refresh_from_db()
    assert deal.stage.pipeline_id == pipeline.pk


def test_losing_a_deal_requires_a_reason(manager, pipeline):
    deal = DealFactory(pipeline=pipeline)
    lost = pipeline.stages.get(kind=Stage.Kind.LOST)
    with pytest.raises(ValidationError) as exc:
        services.deal_move(actor=manager, deal=deal, stage=lost)
    assert "lost_reason" in exc.value.message_dict
    reason = LostReasonFactory()
    services.deal_move(actor=manager, deal=deal, stage=lost, lost_reason=reason)
    deal.refresh_from_db()
    assert deal.stage_id == lost.pk and deal.lost_reason_id == reason.pk and deal.closed_at


def test_negative_amount_is_refused(manager, pipeline):
    with pytest.raises(ValidationError) as exc:
        services.deal_create(actor=manager, title="x", pipeline=pipeline, amount="-5")
    assert "amount" in exc.value.message_dict
    assert not Deal.objects.exists()


def test_stale_version_is_a_conflict(manager, pipeline):
    deal = services.deal_create(actor=manager, title="Поставка", pipeline=pipeline, amount="1000")
    first = Deal.objects.get(pk=deal.pk)
    second = Deal.objects.get(pk=deal.pk)
    services.deal_update(actor=manager, deal=first, expected_version=first.version, amount="2000")
    with pytest.raises(ConflictError):
        services.deal_update(actor=manager, deal=second, expected_version=second.version, amount="3000")
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("2000")


def test_change_log_records_old_and_new_values(manager, pipeline):
    deal = services.deal_create(actor=manager, title="Поставка", pipeline=pipeline, amount="1000")
    services.deal_update(actor=manager, deal=deal, amount="2500.50")
    change = ObjectChange.objects.filter(object_id=deal.pk, action="update").first()
    assert change.changes["amount"] == ["1000.00", "2500.50"]
    assert change.user == manager


def test_qualified_lead_opens_a_deal(manager, pipeline):
    lead = LeadFactory(responsible=manager)
    lead_triage(actor=manager, lead=lead, verdict="qualified")
    lead.refresh_from_db()
    assert lead.deal is not None and lead.deal.responsible == manager
    assert lead.deal.pipeline == pipeline


def test_non_target_lead_marks_contact(office_manager):
    lead = LeadFactory()
    lead_triage(actor=office_manager, lead=lead, verdict="non_target", reason="supplier")
    lead.contact.refresh_from_db()
    assert lead.contact.non_target and lead.contact.non_target_reason == "supplier"
    with pytest.raises(ConflictError):
        lead_triage(actor=office_manager, lead=lead, verdict="qualified")


def test_duplicate_lead_merges_contact(office_manager):
    original = ContactFactory()
    lead = LeadFactory()
    Identity.objects.create(contact=lead.contact, kind="email", value="dup@x.ru")
    lead_triage(actor=office_manager, lead=lead, verdict="duplicate", duplicate_of=original)
    lead.refresh_from_db()
    assert lead.contact_id == original.pk
    assert original.identities.filter(value="dup@x.ru").exists()
    assert Lead.objects.get(pk=lead.pk).verdict == "duplicate"
    assert Note.objects.count() == 0

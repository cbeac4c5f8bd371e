"""The inbound path: idempotency, identity resolution, leads vs. attaching to open work, routing."""

import datetime
import random

import pytest
from django.utils import timezone

from otdel.comms.models import CallState, Interaction
from otdel.comms.services import InboundEvent, ingest_event
from otdel.comms.telephony.generic import call_event
from otdel.crm.models import Contact, Identity, Lead, Task
from otdel.crm.tests.factories import ContactFactory, DealFactory, IdentityFactory
from otdel.routing.models import RoutingSettings

T0 = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)


def _call(call_id, event, at_offset=0, **kw):
    defaults = {"direction": "in", "caller": "8 (912) 345-67-89", "called": "+74951234567"}
    defaults.update(kw)
    return call_event(
        provider="generic",
        call_id=call_id,
        event=event,
        at=T0 + datetime.timedelta(seconds=at_offset),
        payload={"event": event},
        **defaults,
    )


@pytest.mark.django_db
def test_first_call_from_unknown_number_creates_contact_and_lead(manager):
    result = ingest_event(_call("c1", "ringing"))
    contact = result.interaction.contact
    assert Identity.objects.get(kind="phone", value="+79123456789").contact == contact
    lead = Lead.objects.get(contact=contact)
    assert (lead.source, lead.channel, lead.verdict) == ("call", "call", "")
    assert result.interaction.lead == lead


@pytest.mark.django_db
def test_same_call_delivered_shuffled_and_repeated_ends_in_furthest_state(manager):
    manager.work_days = list(range(7))
    manager.work_start, manager.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    manager.save()
    events = [
        _call("c2", "ringing", 0),
        _call("c2", "answered", 5, extension="101"),
        _call("c2", "ended", 65, duration=60, status="answered"),
        _call("c2", "recording", 70, recording_url="https://pbx.example/rec/c2.mp3"),
    ]
    rng = random.Random(7)
    deliveries = events * 5
    rng.shuffle(deliveries)
    for event in deliveries:
        ingest_event(event)
    call = Interaction.objects.get()
    assert call.call_state == CallState.ENDED
    assert call.status == "answered"
    assert call.duration == 60
    assert call.recording_url == "https://pbx.example/rec/c2.mp3"
    assert call.occurred_at == T0
    assert call.user == manager
    assert Lead.objects.count() == 1 and Contact.objects.count() == 1
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_missed_call_creates_one_callback_task(office_manager):
    for _ in range(3):
        ingest_event(_call("c3", "ringing", 0))
        ingest_event(_call("c3", "ended", 30, status="missed"))
    call = Interaction.objects.get()
    assert call.status == "missed"
    task = Task.objects.get()
    assert task.kind == "call_back" and task.contact == call.contact
    assert task.assignee == office_manager  # nobody owns the new contact: fallback person
    assert task.due_at == call.ended_at + datetime.timedelta(minutes=RoutingSettings.load().callback_minutes)


@pytest.mark.django_db
def test_known_client_with_open_deal_attaches_instead_of_new_lead(manager, pipeline):
    contact = ContactFactory(responsible=manager)
    IdentityFactory(contact=contact, value="+79123456789")
    deal = DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    result = ingest_event(_call("c4", "ringing"))
    assert result.interaction.contact == contact
    assert result.interaction.deal == deal
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_repeat_rule_new_lead_always_creates_lead(manager, pipeline):
    cfg = RoutingSettings.load()
    cfg.repeat_rule = "new_lead"
    cfg.save()
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+79123456789")
    DealFactory(contact=contact, pipeline=pipeline)
    ingest_event(_call("c5", "ringing"))
    ingest_event(_call("c6", "ringing"))
    assert Lead.objects.filter(contact=contact).count() == 2


@pytest.mark.django_db
def test_form_with_phone_and_email_resolves_one_person(manager):
    ingest_event(_call("c7", "ringing"))
    event = InboundEvent(
        provider="form:site",
        kind="form",
        channel="form",
        occurred_at=timezone.now(),
        external_id="sub-1",
        identity_kind="email",
        identity_value="Client@Example.RU",
        extra_identities=[("phone", "+7 912 345 67 89")],
        contact_name="Клиент",
        lead_fields={"utm_source": "yandex"},
    )
    result = ingest_event(event)
    assert Contact.objects.count() == 1
    contact = result.interaction.contact
    assert set(contact.identities.values_list("value", flat=True)) == {"+79123456789", "client@example.ru"}
    # The call already opened a lead: the form attaches to it rather than making a second one.
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_non_target_contact_makes_no_lead_and_goes_to_office_manager(manager, office_manager):
    contact = ContactFactory(non_target=True, non_target_reason="supplier", responsible=manager)
    IdentityFactory(contact=contact, value="+79123456789")
    result = ingest_event(_call("c8", "ringing"))
    assert result.interaction.routed_to == office_manager
    assert result.destination.reason == "non_target"
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_call_whose_first_event_had_no_number_joins_its_person_when_a_later_event_brings_it(manager):
    manager.work_days = list(range(7))
    manager.work_start, manager.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    manager.save()
    client = ContactFactory(full_name="Иван Петров", responsible=manager)
    IdentityFactory(contact=client, value="+79123456789")
    ingest_event(_call("c9", "ringing", 0, caller="anonymous"))
    assert Interaction.objects.get().contact is None
    for _ in range(2):
        ingest_event(_call("c9", "answered", 5, extension="101"))
        ingest_event(_call("c9", "ended", 65, duration=60, status="answered"))
    call = Interaction.objects.get()
    assert (call.contact, call.identity.value, call.caller) == (client, "+79123456789", "8 (912) 345-67-89")
    assert (call.routed_to, call.routing_decision.reason) == (manager, "contact_owner")
    assert (call.status, call.user, call.handled_by) == ("answered", manager, manager)
    lead = Lead.objects.get()  # the person's first inquiry: one lead, however often the PBX repeats
    assert (lead.contact, lead.responsible, call.lead) == (client, manager, lead)
    assert Contact.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("number_comes_with", ["ended", "ringing"])
def test_missed_call_without_number_at_first_calls_back_the_person_once_the_number_arrives(
    office_manager, number_comes_with
):
    anonymous = {"caller": ""}
    ringing = _call("c10", "ringing", 0, **({} if number_comes_with == "ringing" else anonymous))
    ended = _call("c10", "ended", 30, status="missed", **({} if number_comes_with == "ended" else anonymous))
    first, later = (ringing, ended) if number_comes_with == "ended" else (ended, ringing)
    ingest_event(first)
    assert Interaction.objects.get().contact is None
    for _ in range(2):
        ingest_event(later)
        ingest_event(first)
    call = Interaction.objects.get()
    contact = Contact.objects.get()
    assert (call.contact, call.status, call.routed_to) == (contact, "missed", office_manager)
    assert call.lead == Lead.objects.get(contact=contact)
    task = Task.objects.get()
    assert (task.contact, task.lead, task.assignee) == (contact, call.lead, office_manager)
    assert contact.full_name in task.title


@pytest.mark.django_db
def test_a_call_from_the_main_number_lands_with_the_person_stored_with_an_extension(manager):
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+74957654321;ext=12")
    result = ingest_event(_call("ext1", "ringing", caller="+7 495 765-43-21"))
    assert result.interaction.contact_id == contact.pk
    assert Contact.objects.count() == 1
    # The main line is now remembered as theirs: the next call is an exact match.
    assert Identity.objects.get(kind="phone", value="+74957654321").contact_id == contact.pk


@pytest.mark.django_db
def test_a_main_number_shared_by_two_extensions_starts_a_new_person(manager):
    for extension in ("12", "13"):
        IdentityFactory(contact=ContactFactory(), value=f"+74957654321;ext={extension}")
    result = ingest_event(_call("ext2", "ringing", caller="+7 495 765-43-21"))
    assert Contact.objects.count() == 3
    assert result.interaction.contact.identities.get().value == "+74957654321"

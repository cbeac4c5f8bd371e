"""Who a ringing call is pushed to, and what its card shows (comms/telephony/ringing.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from otdel.comms.telephony.generic import call_event
from otdel.comms.telephony.ringing import call_signal, call_topic, ringing_card, ringing_contact_create
from otdel.crm import services as crm_services
from otdel.crm.models import Lead
from otdel.live.models import LiveEvent
from otdel.routing.models import Queue, QueueMember, RoutingSettings

pytestmark = pytest.mark.django_db

URL = "/api/v1/telephony/events"


def _event(event: str, *, call_id: str = "c1", caller: str = "+79161234567", extension: str = "", **kw):
    return call_event(
        provider="generic",
        call_id=call_id,
        event=event,
        direction=kw.pop("direction", "in"),
        caller=caller,
        called="+74951234567",
        at=timezone.now(),
        extension=extension,
        **kw,
    )


def test_the_webhook_pushes_each_state_to_whoever_the_call_rings_for(
    api_for, integration_user, manager, other_manager, django_capture_on_commit_callbacks
):
    client = api_for(integration_user)
    base = {"call_id": "w1", "direction": "in", "caller": "8 916 123-45-67", "called": "+74951234567"}
    for payload in (
        {**base, "event": "ringing", "extension": "101"},
        # The answer names no extension: it still reaches the screen the call rang on.
        {**base, "event": "answered"},
        {**base, "event": "ended", "status": "answered"},
    ):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(URL, payload, format="json").status_code == 202
    rows = list(LiveEvent.objects.order_by("id").values_list("user_id", "data"))
    assert [user for user, _data in rows] == [manager.pk] * 3
    assert [data["state"] for _user, data in rows] == ["ringing", "answered", "ended"]
    assert rows[0][1]["phone"] == "+79161234567" and rows[0][1]["key"] == call_topic("generic", "w1")


def test_a_ringing_call_without_extension_goes_where_routing_sends_it(manager, other_manager):
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=manager)
    QueueMember.objects.create(queue=queue, user=other_manager)
    settings = RoutingSettings.load()
    settings.default_queue = queue
    settings.save()
    assert call_signal(_event("ringing")) >= 1
    assert set(LiveEvent.objects.values_list("user_id", flat=True)) <= {manager.pk, other_manager.pk}


def test_an_ended_call_without_a_status_is_missed_unless_it_was_answered(manager):
    call_signal(_event("ringing", call_id="m", extension="101"))
    call_signal(_event("ended", call_id="m"))
    call_signal(_event("ringing", call_id="a", extension="101"))
    call_signal(_event("answered", call_id="a", extension="101"))
    call_signal(_event("ended", call_id="a"))
    ended = dict(LiveEvent.objects.filter(data__state="ended").values_list("topic", "data__status"))
    assert ended == {call_topic("generic", "m"): "missed", call_topic("generic", "a"): "answered"}


def test_outbound_calls_and_recordings_push_nothing(manager):
    assert call_signal(_event("ringing", direction="out", extension="101")) == 0
    assert call_signal(_event("recording", extension="101")) == 0
    assert not LiveEvent.objects.exists()


def test_the_card_shows_the_contact_and_a_non_target_mark(manager):
    contact = crm_services.contact_create(
        actor=manager, full_name="Снабженец", identities=[("phone", "+79161234567")], responsible=manager
    )
    crm_services.contact_set_non_target(actor=manager, contact=contact, reason="supplier")
    call_signal(_event("ringing", extension="101"))
    card = ringing_card(user=manager, key=call_topic("generic", "c1"), phone="+79161234567", state="ringing")
    assert card.contact == contact and card.visible and not card.is_new
    assert card.contact.non_target


def test_a_colleague_the_call_did_not_ring_for_sees_no_details(manager, other_manager):
    crm_services.contact_create(
        actor=manager, full_name="Клиент", identities=[("phone", "+79161234567")], responsible=manager
    )
    call_signal(_event("ringing", extension="101"))
    card = ringing_card(
        user=other_manager, key=call_topic("generic", "c1"), phone="+79161234567", state="ringing"
    )
    assert card.contact is not None and not card.visible and card.history == [] and card.deals == []


def test_create_lead_from_a_new_number_is_idempotent(manager):
    first = ringing_contact_create(
        actor=manager, phone="8 925 000-11-22", full_name="Козлов Андрей", lead=True
    )
    again = ringing_contact_create(actor=manager, phone="+79250001122", full_name="", lead=True)
    assert isinstance(first, Lead) and first.pk == again.pk
    assert first.contact.full_name == "Козлов Андрей" and first.responsible == manager


def test_a_bad_phone_is_refused(client, manager):
    client.force_login(manager)
    response = client.post("/calls/ringing/new/", {"phone": "123", "make": "contact"})
    assert response.status_code == 400

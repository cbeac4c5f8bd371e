"""The generic call-event webhook of CONTRACTS.md, through HTTP."""

import json
import random

import pytest

from otdel.comms.models import IntakeLog, Interaction

URL = "/api/v1/telephony/events"


def _events(call_id):
    base = {"call_id": call_id, "direction": "in", "caller": "+7 912 345-67-89", "called": "+74951234567"}
    return [
        {**base, "event": "ringing", "at": "2026-11-26T10:00:00+03:00"},
        {**base, "event": "answered", "at": "2026-11-26T10:00:07+03:00", "extension": "101"},
        {**base, "event": "ended", "at": "2026-11-26T10:02:07+03:00", "duration": 120, "status": "answered"},
        {**base, "event": "recording", "recording_url": "https://pbx.example/r/1.mp3"},
    ]


@pytest.mark.django_db
def test_events_repeated_in_any_order_make_one_call(api_for, integration_user, manager):
    client = api_for(integration_user)
    deliveries = _events("abc-1") * 5
    random.Random(3).shuffle(deliveries)
    for payload in deliveries:
        response = client.post(URL, payload, format="json")
        assert response.status_code == 202, response.content
    call = Interaction.objects.get()
    assert (call.status, call.duration, call.call_state) == ("answered", 120, 3)
    assert call.recording_url.endswith("/r/1.mp3")
    assert call.contact.identities.get().value == "+79123456789"
    assert IntakeLog.objects.filter(status="processed").count() == 20


@pytest.mark.django_db
def test_malformed_event_is_400_logged_and_stores_nothing(api_for, integration_user):
    client = api_for(integration_user)
    response = client.post(URL, {"event": "exploded", "duration": -3}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) >= {"call_id", "event", "duration"}
    assert body["code"] == "invalid_payload"
    response = client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"
    assert not Interaction.objects.exists()
    assert list(IntakeLog.objects.values_list("status", flat=True)) == ["rejected", "rejected"]
    assert json.loads(IntakeLog.objects.order_by("id").first().body)["event"] == "exploded"


@pytest.mark.django_db
def test_events_need_an_integration_token(api_for, manager):
    assert api_for(None).post(URL, _events("x")[0], format="json").status_code == 401
    assert api_for(manager).post(URL, _events("x")[0], format="json").status_code == 403
    assert not Interaction.objects.exists()

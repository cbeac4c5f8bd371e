"""The generic call-event webhook of CONTRACTS.md, through HTTP."""

import json
import random

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

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


@pytest.mark.django_db
def test_token_deliveries_get_the_same_answers_as_through_drf(api_for, integration_user, admin_user, manager):
    """A PBX's token request takes the view's shortcut; a logged-in admin goes through DRF."""
    pbx = api_for(integration_user)
    browser = APIClient()
    browser.force_login(admin_user)
    bodies = [
        json.dumps(_events("same-1")[0]),
        json.dumps({"event": "exploded", "duration": -3}),
        "{no",
        "[]",
    ]
    for body in bodies:
        a = pbx.post(URL, data=body, content_type="application/json")
        b = browser.post(URL, data=body, content_type="application/json")
        assert (a.status_code, a.content) == (b.status_code, b.content), body
        for header in ("Content-Type", "Allow", "Vary"):
            assert a.headers.get(header) == b.headers.get(header), header
    assert a.status_code == 400
    assert Interaction.objects.get().external_id == "same-1"
    assert list(IntakeLog.objects.order_by("id").values_list("status", flat=True)) == [
        "processed",
        "processed",
        *["rejected"] * 6,
    ]


@pytest.mark.django_db
def test_a_wrong_or_revoked_token_is_refused_and_nothing_is_stored(api_for, integration_user):
    pbx = api_for(integration_user)
    assert pbx.post(URL, _events("t-1")[0], format="json").status_code == 202
    integration_user.api_tokens.update(revoked_at=timezone.now())
    assert pbx.post(URL, _events("t-1")[1], format="json").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.post(URL, _events("t-1")[1], format="json").status_code == 401
    assert IntakeLog.objects.count() == 1

"""Zadarma webhooks: URL check, signatures, NOTIFY_* sequences replayed shuffled, recordings."""

import datetime
import hashlib
import json
import random
import urllib.parse

import pytest
from django.utils import timezone

from otdel.comms.models import IntakeLog, Interaction
from otdel.comms.tests.telephony.support.fixtures import (
    zadarma_signature,
)
from otdel.comms.tests.telephony.support.http_server import Reply
from otdel.crm.models import Contact, Lead, Task

pytestmark = pytest.mark.django_db

URL = "/api/v1/telephony/zadarma/zd-main"
SECRET = "zd-secret"
SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
# Zadarma notifications older than 12 hours are refused as stale: the calls started minutes ago.
STARTED = timezone.localtime().replace(microsecond=0) - datetime.timedelta(minutes=5)
START = STARTED.strftime("%Y-%m-%d %H:%M:%S")


def post(client, fields, *, secret=SECRET, signature=None):
    text = "".join(fields.get(name, "") for name in SIGNED[fields["event"]])
    headers = {} if signature == "" else {"Signature": signature or zadarma_signature(secret, text)}
    return client.post(
        URL, urllib.parse.urlencode(fields), content_type="application/x-www-form-urlencoded", headers=headers
    )


def inbound_answered(call_id="in_7c2d1e4f5a"):
    common = {"pbx_call_id": call_id, "caller_id": "79123456789", "call_start": START}
    return [
        {"event": "NOTIFY_START", **common, "called_did": "74951234567"},
        {"event": "NOTIFY_INTERNAL", **common, "called_did": "74951234567", "internal": "101"},
        {"event": "NOTIFY_INTERNAL", **common, "called_did": "74951234567", "internal": "102"},
        {"event": "NOTIFY_ANSWER", **common, "destination": "101", "internal": "101"},
        {
            "event": "NOTIFY_END",
            **common,
            "called_did": "74951234567",
            "internal": "101",
            "duration": "95",
            "disposition": "answered",
            "status_code": "16",
            "is_recorded": "1",
            "call_id_with_rec": "1795676400.3311944",
        },
        {"event": "NOTIFY_RECORD", "pbx_call_id": call_id, "call_id_with_rec": "1795676400.3311944"},
    ]


@pytest.fixture
def staff(manager, other_manager, office_manager):
    for user in (manager, other_manager):
        user.work_days = list(range(7))
        user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
        user.save()
    return manager


def test_url_check_echoes_zd_echo_for_known_active_keys_only(client, zadarma_provider):
    response = client.get(URL, {"zd_echo": "f4c1a9"})
    assert response.status_code == 200
    assert response.content == b"f4c1a9"
    assert response["Content-Type"].startswith("text/plain")
    assert client.get("/api/v1/telephony/zadarma/nope", {"zd_echo": "x"}).status_code == 404
    zadarma_provider.is_active = False
    zadarma_provider.save()
    assert client.get(URL, {"zd_echo": "x"}).status_code == 404


def test_answered_call_replayed_shuffled_five_times_is_one_call_in_its_furthest_state(
    client, zadarma_provider, staff
):
    deliveries = inbound_answered() * 5
    random.Random(11).shuffle(deliveries)
    for fields in deliveries:
        response = post(client, fields)
        assert response.status_code == 200, response.content
        if fields["event"] != "NOTIFY_START":  # NOTIFY_START is answered by live routing
            assert response.content == b""
    call = Interaction.objects.get()
    assert (call.provider, call.external_id) == ("zadarma:zd-main", "in_7c2d1e4f5a")
    assert (call.direction, call.call_state, call.status, call.duration) == ("in", 3, "answered", 95)
    assert call.user == staff and call.extension == "101"
    assert call.occurred_at == STARTED
    assert call.contact.identities.get().value == "+79123456789"
    assert "1795676400.3311944" in json.dumps(call.payload)
    assert Contact.objects.count() == 1 and Lead.objects.count() == 1
    assert not Task.objects.exists()
    # Exact repeats of a signed delivery are dropped at the door (a replay stores nothing).
    assert IntakeLog.objects.filter(provider="zadarma:zd-main", status="processed").count() == 6


def test_missed_call_ends_missed_and_makes_a_callback_task(client, zadarma_provider, staff):
    common = {"pbx_call_id": "in_missed_01", "caller_id": "+7 916 111-22-33", "call_start": START}
    for fields in [
        {"event": "NOTIFY_START", **common, "called_did": "74951234567"},
        {"event": "NOTIFY_INTERNAL", **common, "called_did": "74951234567", "internal": "101"},
        {
            "event": "NOTIFY_END",
            **common,
            "called_did": "74951234567",
            "internal": "101",
            "duration": "0",
            "disposition": "cancel",
            "status_code": "16",
            "is_recorded": "0",
        },
    ] * 2:
        assert post(client, fields).status_code == 200
    call = Interaction.objects.get()
    assert (call.status, call.call_state, call.duration, call.user) == ("missed", 3, 0, None)
    task = Task.objects.get()
    assert task.kind == "call_back" and task.contact == call.contact


def test_busy_outbound_call_and_an_answered_one(client, zadarma_provider, staff):
    for call_id, disposition, duration in (("out_1", "busy", "0"), ("out_2", "answered", "42")):
        common = {
            "pbx_call_id": call_id,
            "internal": "101",
            "destination": "79123456789",
            "call_start": START,
        }
        post(client, {"event": "NOTIFY_OUT_START", **common, "caller_id": "74951234567"})
        response = post(
            client,
            {
                "event": "NOTIFY_OUT_END",
                **common,
                "caller_id": "74951234567",
                "duration": duration,
                "disposition": disposition,
                "status_code": "17" if disposition == "busy" else "16",
                "is_recorded": "0",
            },
        )
        assert response.status_code == 200
    busy, answered = Interaction.objects.order_by("external_id")
    assert (busy.direction, busy.status, busy.user) == ("out", "busy", staff)
    assert (answered.direction, answered.status, answered.duration, answered.user) == (
        "out",
        "answered",
        42,
        staff,
    )
    assert answered.contact == busy.contact
    assert answered.contact.identities.get().value == "+79123456789"
    assert not Task.objects.exists()  # a busy client on our own call is not a missed call


def test_internal_calls_are_not_put_on_any_timeline(client, zadarma_provider, staff):
    fields = {
        "event": "NOTIFY_OUT_START",
        "pbx_call_id": "int_1",
        "internal": "101",
        "destination": "102",
        "call_start": START,
    }
    assert post(client, fields).status_code == 200
    assert not Interaction.objects.exists() and not Contact.objects.exists()


def test_bad_or_missing_signature_is_401_logged_and_nothing_stored(client, zadarma_provider, staff):
    fields = inbound_answered()[0]
    assert post(client, fields, secret="not-the-secret").status_code == 401
    response = post(client, fields, signature="")
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    tampered = {**fields, "caller_id": "79990000000"}
    assert (
        post(
            client, tampered, signature=zadarma_signature(SECRET, "79123456789" + "74951234567" + START)
        ).status_code
        == 401
    )
    assert not Interaction.objects.exists() and not Contact.objects.exists()
    logs = IntakeLog.objects.order_by("id")
    assert [log.status for log in logs] == ["rejected"] * 3
    assert [log.error for log in logs] == ["bad signature", "missing signature", "bad signature"]
    assert "NOTIFY_START" in logs[0].body


def test_malformed_notification_is_400_and_kept(client, zadarma_provider):
    fields = {
        "event": "NOTIFY_END",
        "caller_id": "79123456789",
        "called_did": "74951234567",
        "call_start": START,
        "duration": "-5",
    }
    response = post(client, fields)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"pbx_call_id", "duration"}
    assert IntakeLog.objects.get().status == "rejected"
    assert not Interaction.objects.exists()


def test_notifications_we_do_not_follow_are_accepted_and_ignored(client, zadarma_provider):
    response = client.post(
        URL,
        urllib.parse.urlencode({"event": "NOTIFY_IVR", "caller_id": "79123456789", "call_start": START}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not IntakeLog.objects.exists() and not Interaction.objects.exists()


def test_recording_link_is_requested_signed_and_the_file_fetched(
    client, zadarma_provider, staff, fake_http, media_root, django_capture_on_commit_callbacks
):
    audio = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
    fake_http.route(
        "GET",
        "/v1/pbx/record/request/",
        Reply(
            200,
            json.dumps({"status": "success", "link": f"{fake_http.url}/rec/1795676400.3311944.mp3"}).encode(),
            {"Content-Type": "application/json"},
        ),
    )
    fake_http.route("GET", "/rec/1795676400.3311944.mp3", Reply(200, audio, {"Content-Type": "audio/mpeg"}))
    zadarma_provider.api_url = fake_http.url
    zadarma_provider.save()
    start, _internal, _other, answer, end, _record = inbound_answered()
    for fields in (start, answer, end):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, fields).status_code == 200

    api_call = next(seen for seen in fake_http.seen if seen.path == "/v1/pbx/record/request/")
    query = "call_id=1795676400.3311944&format=json"
    assert urllib.parse.urlencode(sorted(api_call.query.items())) == query
    expected = zadarma_signature(
        SECRET, "/v1/pbx/record/request/" + query + hashlib.md5(query.encode()).hexdigest()
    )
    assert api_call.headers["Authorization"] == f"zd-key:{expected}"
    call = Interaction.objects.get()
    assert call.recording_url == f"{fake_http.url}/rec/1795676400.3311944.mp3"
    assert call.recording_file.name.endswith(".mp3")
    with call.recording_file.open("rb") as stored:
        assert stored.read() == audio


def test_a_replayed_notification_stores_nothing_new(client, zadarma_provider, staff):
    end = inbound_answered("in_replay")[4]
    assert post(client, end).status_code == 200
    stored = IntakeLog.objects.count()
    for _n in range(3):
        response = post(client, end)
        assert response.status_code == 200 and response.content == b""
    assert IntakeLog.objects.count() == stored


def _hours_from_now(hours: int) -> str:
    return (timezone.localtime() + datetime.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")


# Offsets, not times: the parameters must be the same on every xdist worker that collects them.
@pytest.mark.parametrize(
    "call_start", [-13, 1, "not a time", ""], ids=["13h ago", "1h ahead", "garbage", "empty"]
)
def test_a_signed_notification_with_a_stale_or_bad_call_start_is_refused(
    client, zadarma_provider, staff, call_start
):
    if isinstance(call_start, int):
        call_start = _hours_from_now(call_start)
    fields = {**inbound_answered("in_stale")[4], "call_start": call_start}
    response = post(client, fields)
    assert response.status_code == 400 and response.json()["code"] == "stale_event"
    assert not Interaction.objects.exists()
    log = IntakeLog.objects.get()
    assert log.status == "rejected" and "stale" in log.error


def test_a_late_recording_notification_has_no_call_start_and_is_accepted(client, zadarma_provider, staff):
    assert post(client, inbound_answered("in_rec")[5]).status_code == 200

"""Mango Office realtime events: signatures, events/call + events/summary replayed shuffled, recordings."""

import datetime
import hashlib
import json
import random
import urllib.parse

import pytest

from otdel.comms.models import IntakeLog, Interaction
from otdel.comms.tests.telephony.support.http_server import Reply
from otdel.crm.models import Contact, Lead, Task

pytestmark = pytest.mark.django_db

BASE = "/api/v1/telephony/mango/mango-main"
KEY, SALT = "vpbx-key", "vpbx-salt"
T0 = 1795676400  # 2026-11-26 10:00:00 Moscow
ENTRY = "MTAxOTc3MzY0Njo0NjA="
REC = "MToxMDE5NzczNjQ2OjQ2MDowOjE="
SIP = "sip:{}@vpbx400123456.mangosip.ru"


def post(client, event, data, *, key=KEY, salt=SALT, sign=None):
    json_text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    fields = {
        "vpbx_api_key": key,
        "sign": hashlib.sha256((key + json_text + salt).encode()).hexdigest() if sign is None else sign,
        "json": json_text,
    }
    return client.post(
        f"{BASE}/{event}", urllib.parse.urlencode(fields), content_type="application/x-www-form-urlencoded"
    )


def leg(call_id, state, at, seq, location, to, **extra):
    return (
        "events/call",
        {
            "entry_id": ENTRY,
            "call_id": call_id,
            "timestamp": T0 + at,
            "seq": seq,
            "call_state": state,
            "location": location,
            "from": {"number": "79123456789"},
            "to": to,
            "dct": {"type": 0},
            **extra,
        },
    )


def inbound_answered():
    line = {"number": "74951234567", "line_number": "74951234567"}
    ext101 = {"extension": "101", "number": SIP.format(101), "line_number": "74951234567"}
    ext102 = {"extension": "102", "number": SIP.format(102), "line_number": "74951234567"}
    return [
        leg("MToxMDE5NzczNjQ2OjQ2MDox", "Appeared", 0, 1, "ivr", line),
        leg("MToxMDE5NzczNjQ2OjQ2MDox", "Connected", 1, 2, "ivr", line),
        leg("MToxMDE5NzczNjQ2OjQ2MDox", "Disconnected", 8, 3, "ivr", line, disconnect_reason=1110),
        leg("MToxMDE5NzczNjQ2OjQ2MDoy", "Appeared", 8, 1, "abonent", ext101),
        leg("MToxMDE5NzczNjQ2OjQ2MDoz", "Appeared", 8, 1, "abonent", ext102),
        leg("MToxMDE5NzczNjQ2OjQ2MDoy", "Connected", 15, 2, "abonent", ext101),
        leg("MToxMDE5NzczNjQ2OjQ2MDoz", "Disconnected", 15, 2, "abonent", ext102, disconnect_reason=1110),
        (
            "events/recording",
            {
                "recording_id": REC,
                "recording_state": "Started",
                "seq": 1,
                "entry_id": ENTRY,
                "call_id": "MToxMDE5NzczNjQ2OjQ2MDoy",
                "extension": "101",
                "timestamp": T0 + 15,
            },
        ),
        leg("MToxMDE5NzczNjQ2OjQ2MDoy", "Disconnected", 110, 3, "abonent", ext101, disconnect_reason=1110),
        (
            "events/recording",
            {
                "recording_id": REC,
                "recording_state": "Completed",
                "seq": 2,
                "entry_id": ENTRY,
                "call_id": "MToxMDE5NzczNjQ2OjQ2MDoy",
                "extension": "101",
                "timestamp": T0 + 110,
                "completion_code": 1000,
                "recipient": "Cloud",
            },
        ),
        (
            "events/summary",
            {
                "entry_id": ENTRY,
                "call_direction": 1,
                "from": {"number": "79123456789"},
                "to": {"extension": "101", "number": SIP.format(101)},
                "line_number": "74951234567",
                "create_time": T0,
                "forward_time": T0 + 8,
                "talk_time": T0 + 15,
                "end_time": T0 + 110,
                "entry_result": 1,
                "disconnect_reason": 1110,
            },
        ),
        (
            "events/record/added",
            {
                "entry_id": ENTRY,
                "product_id": 400123456,
                "user_id": 12345,
                "recording_id": REC,
                "timestamp": T0 + 140,
            },
        ),
    ]


@pytest.fixture
def staff(manager, other_manager, office_manager):
    for user in (manager, other_manager):
        user.work_days = list(range(7))
        user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
        user.save()
    return manager


def test_answered_call_replayed_shuffled_five_times_is_one_call_in_its_furthest_state(
    client, mango_provider, staff
):
    deliveries = inbound_answered() * 5
    random.Random(5).shuffle(deliveries)
    for event, data in deliveries:
        response = post(client, event, data)
        assert response.status_code == 200, response.content
    call = Interaction.objects.get()
    assert (call.provider, call.external_id) == ("mango:mango-main", ENTRY)
    assert (call.direction, call.call_state, call.status, call.duration) == ("in", 3, "answered", 95)
    assert call.user == staff and call.extension == "101"
    assert call.occurred_at == datetime.datetime.fromtimestamp(T0, tz=datetime.UTC)
    assert call.ended_at == datetime.datetime.fromtimestamp(T0 + 110, tz=datetime.UTC)
    assert call.called == "74951234567"
    assert call.contact.identities.get().value == "+79123456789"
    assert REC in json.dumps(call.payload)
    assert Contact.objects.count() == 1 and Lead.objects.count() == 1
    assert not Task.objects.exists()
    assert IntakeLog.objects.filter(status="processed").count() == 60


def test_a_leg_hanging_up_does_not_end_the_call_but_the_summary_does(client, mango_provider, staff):
    events = inbound_answered()
    for event, data in events[:7]:  # 102 gave up ringing; 101 is talking
        post(client, event, data)
    call = Interaction.objects.get()
    assert (call.call_state, call.status, call.user) == (2, "answered", staff)
    assert not Task.objects.exists()
    post(client, *events[10])
    call.refresh_from_db()
    assert (call.call_state, call.duration) == (3, 95)


def test_missed_call_from_summary_makes_a_callback_task(client, mango_provider, staff):
    to = {"extension": "101", "number": SIP.format(101), "line_number": "74951234567"}
    appeared = leg("MTpsMTox", "Appeared", 0, 1, "abonent", to)
    gone = leg("MTpsMTox", "Disconnected", 30, 2, "abonent", to, disconnect_reason=1110)
    summary = (
        "events/summary",
        {
            "entry_id": ENTRY,
            "call_direction": 1,
            "from": {"number": "79123456789"},
            "to": to,
            "line_number": "74951234567",
            "create_time": T0,
            "forward_time": T0,
            "talk_time": 0,
            "end_time": T0 + 30,
            "entry_result": 0,
            "disconnect_reason": 1110,
        },
    )
    for event, data in [summary, appeared, gone, summary]:
        assert post(client, event, data).status_code == 200
    call = Interaction.objects.get()
    assert (call.status, call.call_state, call.duration, call.user) == ("missed", 3, 0, None)
    assert call.occurred_at == datetime.datetime.fromtimestamp(T0, tz=datetime.UTC)
    task = Task.objects.get()
    assert task.kind == "call_back" and task.contact == call.contact


def test_outbound_call(client, mango_provider, staff):
    frm = {"extension": "101", "number": SIP.format(101)}
    to = {"number": "79123456789", "line_number": "74951234567"}
    entry = "MTAxOTc3OnJvdXQ="
    base = {"entry_id": entry, "call_id": "MTpvdXQx", "location": "abonent", "from": frm, "to": to}
    events = [
        ("events/call", {**base, "call_state": "Appeared", "timestamp": T0, "seq": 1}),
        ("events/call", {**base, "call_state": "Connected", "timestamp": T0 + 9, "seq": 2}),
        (
            "events/call",
            {**base, "call_state": "Disconnected", "timestamp": T0 + 60, "seq": 3, "disconnect_reason": 1110},
        ),
        (
            "events/summary",
            {
                "entry_id": entry,
                "call_direction": 2,
                "from": frm,
                "to": to,
                "line_number": "74951234567",
                "create_time": T0,
                "forward_time": T0,
                "talk_time": T0 + 9,
                "end_time": T0 + 60,
                "entry_result": 1,
                "disconnect_reason": 1110,
            },
        ),
    ]
    for event, data in reversed(events):
        assert post(client, event, data).status_code == 200
    call = Interaction.objects.get()
    assert (call.direction, call.status, call.duration, call.user, call.caller) == (
        "out",
        "answered",
        51,
        staff,
        "101",
    )
    assert call.contact.identities.get().value == "+79123456789"


def test_bad_sign_or_foreign_api_key_is_401_logged_and_nothing_stored(client, mango_provider, staff):
    event, data = inbound_answered()[0]
    assert post(client, event, data, salt="wrong-salt").status_code == 401
    assert post(client, event, data, key="someone-else").status_code == 401
    response = post(client, event, data, sign="")
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert not Interaction.objects.exists() and not Contact.objects.exists()
    assert list(IntakeLog.objects.order_by("id").values_list("status", "error")) == [
        ("rejected", "bad signature"),
        ("rejected", "bad signature"),
        ("rejected", "missing signature"),
    ]


def test_unknown_key_is_404_and_unhandled_events_are_acknowledged(client, mango_provider):
    response = client.post(
        "/api/v1/telephony/mango/nope/events/call",
        "json=%7B%7D",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 404
    assert post(client, "events/dtmf", {"entry_id": ENTRY, "dtmf": "1", "seq": 1}).status_code == 200
    assert post(client, "result/callback", {"command_id": "x", "result": 1000}).status_code == 200
    assert not IntakeLog.objects.exists()


def test_malformed_event_is_400_and_kept(client, mango_provider):
    response = post(client, "events/call", {"call_state": "Exploded", "timestamp": T0})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"entry_id"}
    response = post(
        client,
        "events/call",
        {"entry_id": ENTRY, "call_state": "Exploded", "from": {"number": "79123456789"}},
    )
    assert response.status_code == 400 and "call_state" in response.json()["errors"]
    assert list(IntakeLog.objects.values_list("status", flat=True)) == ["rejected", "rejected"]
    assert not Interaction.objects.exists()


def test_recording_is_fetched_through_the_signed_recording_query(
    client, mango_provider, staff, fake_http, media_root, django_capture_on_commit_callbacks
):
    audio = b"RIFF\x24\x08\x00\x00WAVEfmt " + b"\x00" * 64
    fake_http.route(
        "POST", "/queries/recording/post", Reply(302, b"", {"Location": f"{fake_http.url}/files/r.wav"})
    )
    fake_http.route("GET", "/files/r.wav", Reply(200, audio, {"Content-Type": "audio/wav"}))
    # With the API set, live routing sends the caller (unknown: the fallback person) on from the IVR.
    fake_http.route("POST", "/commands/route", Reply(200, b'{"result":1000}'))
    mango_provider.api_url = fake_http.url
    mango_provider.save()
    events = inbound_answered()
    for event, data in [events[0], events[5], events[10], events[11]]:
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, event, data).status_code == 200
    query = next(seen for seen in fake_http.seen if seen.path == "/queries/recording/post")
    form = query.form
    assert json.loads(form["json"]) == {"recording_id": REC, "action": "download"}
    assert form["vpbx_api_key"] == KEY
    assert form["sign"] == hashlib.sha256((KEY + form["json"] + SALT).encode()).hexdigest()
    call = Interaction.objects.get()
    assert call.recording_file.name.endswith(".wav")
    with call.recording_file.open("rb") as stored:
        assert stored.read() == audio

"""Asterisk over AMI: the call tracker on recorded transcripts, the client against a fake AMI on
loopback (login, reconnects, keepalive), and ``manage.py run_asterisk`` stopping on SIGTERM."""

import asyncio
import datetime
import os
import random
import signal
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from otdel.comms.models import Interaction, TelephonyProvider
from otdel.comms.telephony.asterisk.ami import AMIAuthError, AMIClient, encode_message, parse_message
from otdel.comms.telephony.asterisk.runner import (
    AsteriskRunner,
    AsteriskSettings,
    deliver_update,
    recording_url,
)
from otdel.comms.telephony.asterisk.tracker import CallTracker
from otdel.comms.tests.telephony.support.ami_server import load_transcript
from otdel.crm.models import Task

ANSWERED = "ami_inbound_answered.txt"
MISSED = "ami_inbound_missed.txt"
OUTBOUND = "ami_outbound_originate.txt"
T0 = datetime.datetime(2026, 11, 26, 7, 0, tzinfo=datetime.UTC)


def track(name, *, extensions=("101", "102"), drop=(), now=None):
    tracker = CallTracker(is_extension=lambda value: value in extensions, cdr_wait=3.0)
    updates = []
    for block in load_transcript(name):
        message = parse_message(block.splitlines())
        if message["Event"] in drop:
            continue
        updates += tracker.feed(message, now=float(message["Timestamp"]))
    return tracker, updates


async def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@pytest.fixture
def staff(manager, other_manager, office_manager):
    for user in (manager, other_manager):
        user.work_days = list(range(7))
        user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
        user.save()
    return manager


# --- the wire format -----------------------------------------------------------------------------


def test_messages_are_key_value_lines_ended_by_an_empty_line():
    assert encode_message({"Action": "Login", "ActionID": "1", "Variable": ["A=1", "B=2"]}) == (
        b"Action: Login\r\nActionID: 1\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    )
    assert parse_message(["Event: Hangup", "Cause-txt: Normal Clearing", "Value: a:b", "garbage"]) == {
        "Event": "Hangup",
        "Cause-txt": "Normal Clearing",
        "Value": "a:b",
    }


# --- the tracker on recorded transcripts ---------------------------------------------------------


def test_inbound_answered_call_is_tracked_by_linkedid():
    tracker, updates = track(ANSWERED)
    assert [u.event for u in updates] == ["ringing", "answered", "ended", "recording"]
    assert {u.linkedid for u in updates} == {"1795676400.16"}
    ringing, answered, ended, recording = updates
    assert (ringing.direction, ringing.caller, ringing.called) == ("in", "79123456789", "74951234567")
    assert ringing.at.replace(microsecond=0) == T0  # the events' own Timestamp (timestampevents = yes)
    assert (answered.extension, answered.at.replace(microsecond=0)) == (
        "101",
        T0 + datetime.timedelta(seconds=7),
    )
    assert (ended.status, ended.duration, ended.extension) == ("answered", 95, "101")
    assert recording.recording_path.endswith("in-74951234567-79123456789-1795676400.16.wav")
    assert not tracker.calls


def test_missed_call_rings_two_phones_and_ends_missed():
    tracker, updates = track(MISSED)
    assert [u.event for u in updates] == ["ringing"]  # the end waits for the CDRs ...
    assert [u.event for u in tracker.expire(now=1795676500 + 40)] == ["ended"]  # ... but not for ever
    tracker, updates = track(MISSED)
    ended = tracker.expire(now=1795676600)[0]
    assert (ended.status, ended.duration, ended.extension, ended.direction) == ("missed", 0, "", "in")
    assert ended.payload["dial_status"] == ["NOANSWER", "NOANSWER"]


def test_click_to_call_is_outbound_from_the_extension_to_the_client():
    _tracker, updates = track(OUTBOUND)
    assert [u.event for u in updates] == ["ringing", "answered", "ended"]
    assert {(u.direction, u.caller, u.called) for u in updates} == {("out", "101", "79123456789")}
    assert (updates[-1].status, updates[-1].duration, updates[-1].extension) == ("answered", 42, "101")


def test_without_a_cdr_the_duration_comes_from_the_bridge_and_the_hangup():
    tracker, updates = track(ANSWERED, drop={"Cdr"})
    assert [u.event for u in updates] == ["ringing", "answered"]
    assert not tracker.expire(now=1795676502.2)  # still within cdr_wait
    ended, recording = tracker.expire(now=1795676510)
    assert (ended.event, ended.status, ended.duration) == ("ended", "answered", 95)
    assert recording.event == "recording"


def test_calls_between_extensions_are_not_tracked():
    tracker = CallTracker(is_extension=lambda value: value in {"101", "102"})
    base = {
        "Channel": "PJSIP/101-0000002a",
        "CallerIDNum": "101",
        "Exten": "102",
        "Uniqueid": "9.1",
        "Linkedid": "9.1",
    }
    assert tracker.feed({"Event": "Newchannel", **base}, now=1.0) == []
    assert tracker.feed({"Event": "Hangup", **base}, now=2.0) == []
    assert tracker.expire(now=10.0) == []


def test_recording_url_under_the_pbx_web_root():
    path = "/var/spool/asterisk/monitor/2026/11/26/in 1.wav"
    assert (
        recording_url("https://pbx.example.ru/monitor/", path)
        == "https://pbx.example.ru/monitor/2026/11/26/in%201.wav"
    )
    assert recording_url("", path) == ""


# --- through ingest_event ------------------------------------------------------------------------


@pytest.mark.django_db
def test_mapped_events_replayed_shuffled_five_times_make_one_call(asterisk_provider, staff):
    _tracker, updates = track(ANSWERED)
    deliveries = updates * 5
    random.Random(3).shuffle(deliveries)
    settings = AsteriskSettings.of(asterisk_provider)
    for update in deliveries:
        deliver_update(settings, update)
    call = Interaction.objects.get()
    assert (call.provider, call.external_id) == ("asterisk:office-pbx", "1795676400.16")
    assert (call.call_state, call.status, call.duration, call.user) == (3, "answered", 95, staff)
    assert call.occurred_at.replace(microsecond=0) == T0
    assert "in-74951234567-79123456789-1795676400.16.wav" in str(call.payload)
    assert call.contact.identities.get().value == "+79123456789"


# --- the AMI client against a fake Asterisk on loopback -------------------------------------------


def run_runner(provider, scenario, **options):
    """Run an AsteriskRunner for ``provider`` while ``scenario(runner)`` drives the fake AMI."""
    runner = AsteriskRunner(
        AsteriskSettings.of(provider), cdr_wait=0.2, reconnect_min=0.05, reconnect_max=0.2, **options
    )

    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            await scenario(runner)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    return runner


@pytest.mark.django_db(transaction=True)
def test_recorded_calls_land_as_one_interaction_per_linkedid(fake_ami, asterisk_provider, staff):
    async def scenario(runner):
        await until(lambda: fake_ami.logins >= 1)
        fake_ami.send(load_transcript(ANSWERED) + load_transcript(MISSED))
        await until(lambda: runner.delivered >= 6)  # 4 for the answered call, 2 for the missed one

    runner = run_runner(asterisk_provider, scenario)
    assert runner.events_seen == 20 + 16 + 1  # the two transcripts and FullyBooted
    answered = Interaction.objects.get(external_id="1795676400.16")
    missed = Interaction.objects.get(external_id="1795676500.20")
    assert (answered.status, answered.duration, answered.user, answered.extension) == (
        "answered",
        95,
        staff,
        "101",
    )
    assert answered.handled_by == staff
    assert (missed.status, missed.call_state, missed.user) == ("missed", 3, None)
    task = Task.objects.get()
    assert (task.kind, task.contact) == ("call_back", missed.contact)
    assert missed.contact.identities.get().value == "+79161112233"
    assert Interaction.objects.count() == 2
    asterisk_provider.refresh_from_db()
    assert asterisk_provider.last_event_at is not None and asterisk_provider.last_error == ""
    assert fake_ami.actions_named("Logoff")  # a polite goodbye on stop


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_reconnects_and_the_call_continues(fake_ami, asterisk_provider, staff):
    events = load_transcript(ANSWERED)

    async def scenario(runner):
        await until(lambda: fake_ami.logins >= 1)
        fake_ami.send(events[:10])  # ringing and answered ...
        await until(lambda: runner.delivered >= 2)
        fake_ami.drop()  # ... then Asterisk restarts its manager / the network blips
        await until(lambda: fake_ami.logins >= 2)
        fake_ami.send(events[10:])  # the conversation ends after we are back
        await until(lambda: runner.delivered >= 4)

    run_runner(asterisk_provider, scenario)
    call = Interaction.objects.get()
    assert (call.call_state, call.status, call.duration, call.user) == (3, "answered", 95, staff)
    assert fake_ami.logins == 2


@pytest.mark.django_db(transaction=True)
def test_a_silent_connection_is_noticed_by_the_keepalive(fake_ami, asterisk_provider):
    fake_ami.answer_pings = False

    async def scenario(runner):
        runner.client.timeout = 0.3
        await until(lambda: fake_ami.logins >= 2, timeout=10)

    run_runner(asterisk_provider, scenario, ping_interval=0.1)
    assert len(fake_ami.actions_named("Ping")) >= 1


def test_a_wrong_password_is_a_clear_error(fake_ami):
    client = AMIClient(host="127.0.0.1", port=fake_ami.port, username="otdel", secret="wrong", timeout=3)

    async def main():
        with pytest.raises(AMIAuthError) as error:
            await client.connect()
        return str(error.value)

    message = asyncio.run(main())
    assert "refused the AMI login" in message and "“otdel”" in message and "Authentication failed" in message
    assert fake_ami.failed_logins == 1


def test_nothing_listening_is_a_connection_error_not_a_hang():
    client = AMIClient(host="127.0.0.1", port=9, username="otdel", secret="x", timeout=2)

    async def main():
        started = time.monotonic()
        with pytest.raises(Exception) as error:
            await client.connect()
        return error.value, time.monotonic() - started

    error, took = asyncio.run(main())
    assert "cannot connect to the AMI at 127.0.0.1:9" in str(error) and took < 3


# --- manage.py run_asterisk ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_run_asterisk_with_a_wrong_password_fails_with_the_reason(fake_ami, asterisk_provider):
    TelephonyProvider.objects.filter(pk=asterisk_provider.pk).update(ami_password="wrong")
    with pytest.raises(CommandError, match="refused the AMI login"):
        call_command("run_asterisk", "--provider", "office-pbx")
    asterisk_provider.refresh_from_db()
    assert "Authentication failed" in asterisk_provider.last_error


@pytest.mark.django_db(transaction=True)
def test_run_asterisk_follows_calls_until_sigterm(fake_ami, asterisk_provider, staff, capsys):
    def operator():
        """Plays the PBX and the service manager: events in, then SIGTERM (always, within 15 s)."""
        try:
            deadline = time.monotonic() + 15
            while fake_ami.logins < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            if fake_ami.logins:
                fake_ami.send(load_transcript(ANSWERED))
                while time.monotonic() < deadline and not Interaction.objects.filter(call_state=3).exists():
                    time.sleep(0.05)
        finally:
            connection.close()
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=operator)
    thread.start()
    call_command("run_asterisk", "--provider", "office-pbx", "--cdr-wait", "0.2")
    thread.join(5)
    assert "Stopped." in capsys.readouterr().out
    call = Interaction.objects.get()
    assert (call.status, call.duration, call.user) == ("answered", 95, staff)


def test_run_asterisk_without_providers_says_so(db):
    with pytest.raises(CommandError, match="No active Asterisk provider"):
        call_command("run_asterisk")

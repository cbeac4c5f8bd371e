"""Call recordings fetched in the background into storage: limits, refusals, failures and retries."""

import datetime
import time

import pytest

from otdel.comms.models import Interaction
from otdel.comms.services import ingest_event
from otdel.comms.telephony import recordings
from otdel.comms.telephony.generic import call_event
from otdel.comms.tests.telephony.support.http_server import Reply

pytestmark = pytest.mark.django_db

WAV = b"RIFF\x2c\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x08\x00\x00\x00\x00\x00\xff\x7f\x00\x80\x00\x00"
T0 = datetime.datetime(2026, 11, 26, 7, 0, tzinfo=datetime.UTC)


def recorded_call(url, call_id="rec-1"):
    """A finished call whose PBX published a recording link, stored the way every adapter stores it."""
    common = {
        "provider": "generic",
        "call_id": call_id,
        "direction": "in",
        "caller": "+79123456789",
        "called": "+74951234567",
    }
    ingest_event(call_event(**common, event="ringing", at=T0))
    ingest_event(
        call_event(
            **common, event="ended", at=T0 + datetime.timedelta(seconds=60), duration=55, status="answered"
        )
    )
    return ingest_event(call_event(**common, event="recording", at=T0, recording_url=url)).interaction


def fetch(call, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queued = recordings.recording_fetch_enqueue(call)
    call.refresh_from_db()
    return queued


def test_recording_is_downloaded_into_storage(fake_http, media_root, django_capture_on_commit_callbacks):
    fake_http.route("GET", "/monitor/2026/11/26/in-1.wav", Reply(200, WAV, {"Content-Type": "audio/x-wav"}))
    call = recorded_call(f"{fake_http.url}/monitor/2026/11/26/in-1.wav")
    assert fetch(call, django_capture_on_commit_callbacks)
    assert call.recording_file.name.startswith("recordings/")
    assert call.recording_file.name.endswith(f"call-{call.pk}.wav")
    with call.recording_file.open("rb") as stored:
        assert stored.read() == WAV
    assert (media_root / call.recording_file.name).exists()
    assert call.payload["_recording_fetch"]["stored_at"]
    # Stored once: asking again does nothing.
    assert not recordings.recording_fetch_enqueue(call)
    assert len([s for s in fake_http.seen if s.path.endswith("in-1.wav")]) == 1


def test_a_recording_over_the_size_cap_is_refused(
    fake_http, media_root, settings, django_capture_on_commit_callbacks
):
    settings.OTDEL_RECORDING_MAX_BYTES = 32
    fake_http.route("GET", "/big.wav", Reply(200, WAV, {"Content-Type": "audio/wav"}))
    call = recorded_call(f"{fake_http.url}/big.wav")
    fetch(call, django_capture_on_commit_callbacks)
    assert not call.recording_file
    assert "limit" in call.payload["_recording_fetch"]["error"]
    assert call.payload["_recording_fetch"]["attempts"] == 1
    assert not any(media_root.rglob("*.wav"))


def test_only_http_and_https_are_fetched(fake_http, media_root, django_capture_on_commit_callbacks, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    call = recorded_call(f"file://{secret}", call_id="rec-file")
    fetch(call, django_capture_on_commit_callbacks)
    assert not call.recording_file
    assert "only http and https" in call.payload["_recording_fetch"]["error"]

    # A redirect away from HTTP (urllib alone would follow one to ftp://) is refused too.
    fake_http.route("GET", "/moved.wav", Reply(302, b"", {"Location": "ftp://127.0.0.1:9/in-1.wav"}))
    call = recorded_call(f"{fake_http.url}/moved.wav", call_id="rec-redirect")
    fetch(call, django_capture_on_commit_callbacks)
    assert not call.recording_file
    assert "non-HTTP" in call.payload["_recording_fetch"]["error"]
    fake_http.route("GET", "/moved2.wav", Reply(302, b"", {"Location": f"file://{secret}"}))
    call = recorded_call(f"{fake_http.url}/moved2.wav", call_id="rec-redirect-2")
    fetch(call, django_capture_on_commit_callbacks)
    assert not call.recording_file and call.payload["_recording_fetch"]["error"]


def test_a_slow_server_times_out(fake_http, media_root, monkeypatch, django_capture_on_commit_callbacks):
    def slow(seen):
        time.sleep(1.5)
        return Reply(200, WAV)

    monkeypatch.setattr(recordings, "TIMEOUT", 0.3)
    fake_http.route("GET", "/slow.wav", slow)
    call = recorded_call(f"{fake_http.url}/slow.wav")
    started = time.monotonic()
    fetch(call, django_capture_on_commit_callbacks)
    assert time.monotonic() - started < 1.4
    assert not call.recording_file
    assert "unreachable" in call.payload["_recording_fetch"]["error"]


def test_a_failed_fetch_is_logged_and_retried_later_by_the_sweep(
    fake_http, media_root, caplog, django_capture_on_commit_callbacks
):
    fake_http.route("GET", "/later.wav", Reply(404, b"not yet"))
    call = recorded_call(f"{fake_http.url}/later.wav")
    fetch(call, django_capture_on_commit_callbacks)  # no exception escapes
    assert not call.recording_file
    assert "HTTP 404" in call.payload["_recording_fetch"]["error"]
    assert "not fetched" in caplog.text

    fake_http.route("GET", "/later.wav", Reply(200, WAV, {"Content-Type": "audio/wav"}))
    recordings.recordings_sweep.enqueue()
    call.refresh_from_db()
    with call.recording_file.open("rb") as stored:
        assert stored.read() == WAV


def test_the_sweep_gives_up_after_the_last_attempt(fake_http, media_root, django_capture_on_commit_callbacks):
    fake_http.route("GET", "/gone.wav", Reply(410, b"gone"))
    call = recorded_call(f"{fake_http.url}/gone.wav")
    for _ in range(recordings.MAX_ATTEMPTS + 3):
        recordings.recordings_sweep.enqueue()
    call.refresh_from_db()
    assert call.payload["_recording_fetch"]["attempts"] == recordings.MAX_ATTEMPTS
    assert len([s for s in fake_http.seen if s.path == "/gone.wav"]) == recordings.MAX_ATTEMPTS


def test_an_unreachable_pbx_does_not_break_anything(media_root, django_capture_on_commit_callbacks):
    call = recorded_call("http://127.0.0.1:9/nothing-listens-here.wav")
    fetch(call, django_capture_on_commit_callbacks)
    assert not call.recording_file
    assert Interaction.objects.get(pk=call.pk).status == "answered"


def test_a_provider_reference_needs_the_provider_api_to_be_fetched(zadarma_provider):
    common = {
        "provider": "zadarma:zd-main",
        "call_id": "z-1",
        "direction": "in",
        "caller": "+79123456789",
        "called": "",
    }
    ingest_event(call_event(**common, event="ringing", at=T0))
    call = ingest_event(
        call_event(
            **common, event="ended", at=T0, status="answered", payload={"call_id_with_rec": "1795676400.1"}
        )
    ).interaction
    assert not recordings.recording_pending(call)  # no API address: nobody could turn the id into audio
    zadarma_provider.api_url = "https://api.zadarma.com"
    zadarma_provider.save()
    assert recordings.recording_pending(call)

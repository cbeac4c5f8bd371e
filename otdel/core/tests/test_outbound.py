"""SSRF: outbound requests refuse loopback, private and link-local addresses, also via redirects
and DNS, and connect to the address they checked."""

import socket

import pytest

from otdel.comms.tests.telephony.support.http_server import FakeHTTP, Reply
from otdel.core import outbound


@pytest.fixture
def local_server(settings):
    settings.OTDEL_OUTBOUND_ALLOWED_HOSTS = []
    server = FakeHTTP().start()
    server.route("GET", "/secret", Reply(200, b"internal secret", {"Content-Type": "text/plain"}))
    yield server
    server.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://10.0.0.1:{port}/secret",
        "http://192.168.1.1/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://0.0.0.0:{port}/secret",
        "file:///etc/passwd",
        "ftp://example.com/x",
    ],
)
def test_non_public_addresses_are_refused(local_server, url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(url.format(port=local_server.url.rsplit(":", 1)[1]), timeout=2)
    assert not local_server.seen


def test_a_name_resolving_to_loopback_is_refused(local_server, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "innocent.example":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    port = local_server.url.rsplit(":", 1)[1]
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(f"http://innocent.example:{port}/secret", timeout=2)
    assert not local_server.seen


def test_redirects_are_checked_on_every_hop(local_server, settings):
    port = local_server.url.rsplit(":", 1)[1]
    # The first hop is allowed (as an office PBX would be); its redirect to the metadata address is not.
    settings.OTDEL_OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    local_server.route("GET", "/hop", Reply(302, b"", {"Location": "http://169.254.169.254/latest/"}))
    local_server.route("GET", "/hop2", Reply(302, b"", {"Location": f"http://127.0.0.1:{port}/secret"}))
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(f"http://localhost:{port}/hop", timeout=2)
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(f"http://localhost:{port}/hop2", timeout=2)
    assert [seen.path for seen in local_server.seen] == ["/hop", "/hop2"]


def test_allowed_host_is_fetched_with_limits(local_server):
    port = local_server.url.rsplit(":", 1)[1]
    response = outbound.fetch(f"http://127.0.0.1:{port}/secret", allow_hosts=["127.0.0.1"], timeout=2)
    assert (response.status, response.body.read()) == (200, b"internal secret")
    with pytest.raises(outbound.OutboundError):
        outbound.fetch(f"http://127.0.0.1:{port}/secret", allow_hosts=["127.0.0.1"], max_bytes=5, timeout=2)


@pytest.mark.django_db
def test_a_call_event_recording_url_on_loopback_is_not_read_back(
    api_for, integration_user, local_server, settings
):
    from otdel.comms.models import Interaction
    from otdel.comms.telephony.recordings import RecordingError, recording_store

    settings.MEDIA_ROOT = str(settings.DATA_DIR / "test-media-ssrf")
    client = api_for(integration_user)
    port = local_server.url.rsplit(":", 1)[1]
    response = client.post(
        "/api/v1/telephony/events",
        {
            "call_id": "ssrf-1",
            "event": "recording",
            "caller": "+79123456789",
            "recording_url": f"http://127.0.0.1:{port}/secret",
        },
        format="json",
    )
    assert response.status_code == 202
    call = Interaction.objects.get()
    with pytest.raises(RecordingError, match="non-public"):
        recording_store(interaction=call)
    call.refresh_from_db()
    assert not call.recording_file
    assert not local_server.seen

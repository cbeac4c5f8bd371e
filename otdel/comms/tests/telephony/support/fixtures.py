"""Pytest fixtures of the telephony tests (imported by the test modules that use them)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from otdel.comms.models import TelephonyProvider
from otdel.comms.tests.telephony.support.ami_server import FakeAMI
from otdel.comms.tests.telephony.support.http_server import FakeHTTP


def zadarma_signature(secret: str, text: str) -> str:
    """Zadarma's documented signature, written out independently of the code under test."""
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest().encode()
    ).decode()


@pytest.fixture
def fake_http(settings):
    # The fake provider listens on loopback: trusted here as an office PBX would be.
    settings.OTDEL_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = FakeHTTP().start()
    yield server
    server.stop()


@pytest.fixture
def fake_ami():
    server = FakeAMI().start()
    yield server
    server.stop()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def zadarma_provider(db):
    return TelephonyProvider.objects.create(
        kind="zadarma", name="Zadarma", key="zd-main", api_key="zd-key", api_secret="zd-secret"
    )


@pytest.fixture
def mango_provider(db):
    return TelephonyProvider.objects.create(
        kind="mango", name="Mango Office", key="mango-main", api_key="vpbx-key", api_secret="vpbx-salt"
    )


@pytest.fixture
def asterisk_provider(db, fake_ami):
    return TelephonyProvider.objects.create(
        kind="asterisk",
        name="Office Asterisk",
        key="office-pbx",
        ami_host="127.0.0.1",
        ami_port=fake_ami.port,
        ami_username=fake_ami.username,
        ami_password=fake_ami.secret,
        originate_context="otdel-click2call",
    )

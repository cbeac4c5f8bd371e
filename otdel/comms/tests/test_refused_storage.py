"""Refused unauthenticated deliveries cannot fill the disk: a bounded prefix and a hash, per-address
limit, nothing at all for an unknown key."""

# ruff: noqa: F811  (the shared fixtures are imported by name; tests take them as arguments)

import hashlib
import urllib.parse

import pytest
from django.core.cache import cache

from otdel.comms.intake import UNAUTHENTICATED_KEPT_PER_MINUTE, UNAUTHENTICATED_PREFIX
from otdel.comms.models import IntakeLog
from otdel.comms.tests.telegram.support.fixtures import (  # noqa: F401  (fixtures)
    bot_api,
    deliver,
    telegram_bot,
    telegram_settings,
)
from otdel.comms.tests.telephony.support.fixtures import zadarma_provider  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _zadarma(client, size):
    fields = {"event": "NOTIFY_START", "caller_id": "79123456789", "junk": "x" * size}
    body = urllib.parse.urlencode(fields)
    response = client.post(
        "/api/v1/telephony/zadarma/zd-main",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"Signature": "forged"},
    )
    return response, body


def test_bad_signature_keeps_a_bounded_prefix_and_the_hash(client, zadarma_provider):
    response, body = _zadarma(client, 1_000_000)
    assert response.status_code == 401
    log = IntakeLog.objects.get()
    assert log.status == "rejected" and log.error == "bad signature"
    assert len(log.body.encode()) < UNAUTHENTICATED_PREFIX + 200
    assert log.body.startswith(body[:100])
    assert hashlib.sha256(body.encode()).hexdigest() in log.body
    assert f"{len(body.encode())} bytes" in log.body


def test_short_refused_body_is_kept_as_it_came(client, zadarma_provider):
    response, body = _zadarma(client, 10)
    assert response.status_code == 401
    assert IntakeLog.objects.get().body == body


def test_refusals_stored_per_address_are_limited(client, zadarma_provider):
    for _n in range(UNAUTHENTICATED_KEPT_PER_MINUTE + 10):
        assert _zadarma(client, 10)[0].status_code == 401
    assert IntakeLog.objects.count() == UNAUTHENTICATED_KEPT_PER_MINUTE


def test_telegram_unknown_key_stores_nothing_and_wrong_secret_is_bounded(telegram_bot, deliver):
    big = {"update_id": 1, "message": {"text": "x" * 1_000_000}}
    telegram_bot.key = "nosuchbot"
    assert deliver(telegram_bot, big).status_code == 404
    assert not IntakeLog.objects.exists()
    telegram_bot.refresh_from_db()
    assert deliver(telegram_bot, big, secret="wrong").status_code == 403
    log = IntakeLog.objects.get()
    assert len(log.body.encode()) < UNAUTHENTICATED_PREFIX + 200
    assert "SHA-256" in log.body

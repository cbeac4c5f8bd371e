"""The bad-JSON table on every public and integration endpoint: never a 500, always the error shape."""

# ruff: noqa: F811  (the shared fixtures are imported by name; tests take them as arguments)

import logging

import pytest
from rest_framework.test import APIClient

from otdel.comms.models import IntakeLog, Interaction
from otdel.comms.tests.telegram.support.fixtures import (  # noqa: F401  (fixtures)
    bot_api,
    telegram_bot,
    telegram_settings,
)
from otdel.core import jsonsafe

NESTED = b"[" * 100_000 + b"]" * 100_000
BAD_BODIES = {
    "nested": NESTED,
    "nested_object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "nan": b'{"call_id": "x", "event": "ended", "caller": "+79123456789", "duration": NaN}',
    "infinity": b'{"call_id": "x", "event": "ended", "caller": "+79123456789", "at": Infinity}',
    "big_float": b'{"call_id": "x", "event": "ended", "caller": "+79123456789", "at": 1e400}',
    "int_2_63": b'{"call_id": "x", "event": "ended", "caller": "+79123456789", "duration": 9223372036854775808}',
    "invalid_utf8": b'{"call_id": "\xff\xfe", "event": "ringing", "caller": "+79123456789"}',
    "lone_surrogate": b'{"call_id": "\\ud800", "event": "ringing", "caller": "+79123456789"}',
    "nul": b'{"call_id": "a\\u0000b", "event": "ringing", "caller": "+79123456789"}',
}


def _assert_error_shape(response, statuses=(400,)):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"errors", "code"}, body


def _endpoints(api_for, integration_user, telegram_bot, admin_user):
    integration = api_for(integration_user)
    anonymous = APIClient()
    telegram = APIClient(HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=telegram_bot.secret_token)
    return [
        (integration, "/api/v1/telephony/events"),
        (integration, "/api/v1/telephony/events/"),
        (telegram, f"/api/v1/telegram/{telegram_bot.key}/webhook"),
        (anonymous, "/api/v1/auth/token"),
        (anonymous, "/api/v1/forms/nosuchform/submissions"),
        (api_for(admin_user), "/api/v1/contacts/"),
        (api_for(admin_user), "/api/v1/users/"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_json_is_400_in_the_error_shape_everywhere(
    name, api_for, integration_user, telegram_bot, admin_user, caplog
):
    caplog.set_level(logging.INFO)
    for client, url in _endpoints(api_for, integration_user, telegram_bot, admin_user):
        response = client.generic("POST", url, BAD_BODIES[name], content_type="application/json")
        # The form endpoint may say "no such form" first; never a 5xx, always JSON.
        _assert_error_shape(response, (400, 404))
    assert not Interaction.objects.exists()
    assert "Traceback" not in caplog.text
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.django_db
def test_call_event_with_nan_or_2_63_is_refused_before_acknowledging(api_for, integration_user):
    client = api_for(integration_user)
    for body in (BAD_BODIES["nan"], BAD_BODIES["int_2_63"]):
        response = client.generic("POST", "/api/v1/telephony/events", body, content_type="application/json")
        _assert_error_shape(response)
    # A duration that parses but does not fit the column: refused too, not failed in the worker.
    response = client.post(
        "/api/v1/telephony/events",
        {"call_id": "y", "event": "ended", "caller": "+79123456789", "duration": "9223372036854775808"},
        format="json",
    )
    _assert_error_shape(response)
    assert not IntakeLog.objects.filter(status__in=["received", "failed", "processed"]).exists()


@pytest.mark.django_db
def test_body_over_the_upload_limit_is_413_in_the_error_shape(
    settings, api_for, integration_user, telegram_bot, admin_user, caplog
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = b'{"call_id": "' + b"x" * 5000 + b'"}'
    for client, url in _endpoints(api_for, integration_user, telegram_bot, admin_user):
        response = client.generic("POST", url, big, content_type="application/json")
        _assert_error_shape(response, (404, 413) if "/forms/" in url else (413,))
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.django_db
def test_pbx_form_endpoints_answer_json_for_a_huge_body(settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    for url in ("/api/v1/telephony/zadarma/nokey", "/api/v1/telephony/mango/nokey/events/call"):
        response = client.post(url, {"json": "x" * 5000}, format="multipart")
        _assert_error_shape(response, (404, 413))
        response = client.generic(
            "POST", url, "a=" + "x" * 5000, content_type="application/x-www-form-urlencoded"
        )
        _assert_error_shape(response, (404, 413))
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(admin_user, api_for):
    for client in (APIClient(), api_for(admin_user)):
        for url in ("/api/nothing", "/api/v1/no/such/thing/", "/api/v2/contacts/"):
            response = client.get(url)
            _assert_error_shape(response, (404,))
            assert response.json()["code"] == "not_found"


def test_jsonsafe_accepts_ordinary_json_and_refuses_the_rest():
    assert jsonsafe.loads('{"a": [1, 2.5, "x", null, true, -9223372036854775808]}') == {
        "a": [1, 2.5, "x", None, True, -(2**63)]
    }
    for text in ("NaN", "[-Infinity]", "9223372036854775808", '"\\udc00"', "[" * 65 + "]" * 65):
        with pytest.raises(jsonsafe.UnsafeJSON):
            jsonsafe.loads(text)

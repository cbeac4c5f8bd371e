"""Password guessing: lockout per account and per address on every login path; one client_ip."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from otdel.accounts.tests.factories import PASSWORD
from otdel.core.net import client_ip


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def _login_form(client, path, username, password, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def _token(client, username, password, **extra):
    return client.post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json", **extra
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_login_pages_lock_the_account_after_failures(limits, admin_user, path):
    client = Client()
    for _attempt in range(3):
        response = _login_form(client, path, admin_user.username, "wrong-guess")
        assert response.status_code in (200, 429)
    # Locked now: even the right password is refused, from another address too (per account).
    other = Client(REMOTE_ADDR="10.9.8.7")
    response = _login_form(other, path, admin_user.username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in other.session


@pytest.mark.django_db
def test_token_endpoint_locks_and_forged_forwarded_for_does_not_help(limits, manager):
    client = APIClient()
    for attempt in range(3):
        response = _token(client, manager.username, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")
        assert response.status_code == (400 if attempt < 2 else 429)
    response = _token(client, manager.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"


@pytest.mark.django_db
def test_one_address_guessing_many_accounts_is_locked(limits, manager, head):
    client = APIClient(REMOTE_ADDR="192.0.2.10")
    for name in ("a", "b", "c"):
        _token(client, name, "wrong")
    assert _token(client, head.username, PASSWORD).status_code == 429
    # Another address may still sign in to that account.
    assert _token(APIClient(REMOTE_ADDR="192.0.2.11"), head.username, PASSWORD).status_code == 200


def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(settings):
    factory = RequestFactory()
    settings.OTDEL_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    direct = factory.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(direct) == "203.0.113.5"
    proxied = factory.get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.1.2.3"
    )
    assert client_ip(proxied) == "198.51.100.7"  # the forged 6.6.6.6 left of the real client is ignored
    assert client_ip(factory.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"
    settings.OTDEL_TRUSTED_PROXIES = []
    assert client_ip(proxied) == "127.0.0.1"


@pytest.mark.django_db
def test_password_rules_refuse_short_and_username_like_passwords(manager):
    with pytest.raises(ValidationError):
        validate_password("Kedr-47", user=manager)
    manager.username = "ivan.petrov"
    with pytest.raises(ValidationError):
        validate_password("ivan.petrov1", user=manager)
    validate_password("Kedr-Pesok-Luna-47", user=manager)

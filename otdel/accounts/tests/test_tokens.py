"""API tokens: hashed at rest, expiring, revoked with the password or the user; integration tokens
with scopes, made and revoked by administrators (API and page)."""

import datetime
import hashlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from otdel.accounts.models import ApiToken, Role, User
from otdel.accounts.services import integration_token_create, user_token_issue, user_update
from otdel.accounts.tests.factories import UserFactory
from otdel.routing.api.authentication import forget_tokens

V1 = "/api/v1"
PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.django_db


def _client(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.fixture
def person(db):
    user = UserFactory(username="person", role=Role.SALES_MANAGER)
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_database_holds_only_a_hash_of_the_secret(person):
    response = APIClient().post(
        f"{V1}/auth/token", {"username": "person", "password": PASSWORD}, format="json"
    )
    secret = response.json()["token"]
    token = ApiToken.objects.get(user=person)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [
        str(v)
        for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.concrete_fields]).get()
    ]
    assert not any(secret in value for value in stored)
    assert _client(secret).get(f"{V1}/users/me").status_code == 200


def test_a_personal_token_expires(person, settings):
    settings.OTDEL_API_TOKEN_DAYS = 30
    secret = user_token_issue(user=person)
    token = ApiToken.objects.get(user=person)
    assert token.expires_at is not None
    assert datetime.timedelta(days=29) < token.expires_at - timezone.now() <= datetime.timedelta(days=30)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = _client(secret).get(f"{V1}/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_technical_accounts_token_does_not_expire(settings):
    settings.OTDEL_API_TOKEN_DAYS = 30
    pbx = UserFactory(username="pbx", role=Role.INTEGRATION)
    user_token_issue(user=pbx)
    assert ApiToken.objects.get(user=pbx).expires_at is None


def test_a_password_change_revokes_personal_tokens_but_not_integration_ones(person, admin_user):
    personal = user_token_issue(user=person)
    _token, integration = integration_token_create(
        actor=admin_user, name="Script", scopes=["read"], user=person
    )
    user_update(actor=admin_user, user=person, password="another-long-password-9")
    assert _client(personal).get(f"{V1}/users/me").status_code == 401
    assert _client(integration).get(f"{V1}/users/me").status_code == 200


def test_a_password_reset_through_the_pages_revokes_them_too(person, client):
    secret = user_token_issue(user=person)
    client.force_login(person)
    response = client.post(
        "/profile/",
        {
            "action": "password",
            "old_password": PASSWORD,
            "new_password1": "brand-new-password-77",
            "new_password2": "brand-new-password-77",
        },
    )
    assert response.status_code == 302
    assert _client(secret).get(f"{V1}/users/me").status_code == 401


def test_switching_a_user_off_revokes_every_token(person, admin_user):
    personal = user_token_issue(user=person)
    _token, integration = integration_token_create(actor=admin_user, name="BI", scopes=["read"], user=person)
    user_update(actor=admin_user, user=person, is_active=False)
    assert ApiToken.objects.filter(user=person, revoked_at__isnull=True).count() == 0
    user_update(actor=admin_user, user=person, is_active=True)
    assert _client(personal).get(f"{V1}/users/me").status_code == 401
    assert _client(integration).get(f"{V1}/users/me").status_code == 401


def test_last_use_is_recorded(person, admin_user):
    token, secret = integration_token_create(actor=admin_user, name="BI", scopes=["read"], user=person)
    assert token.last_used_at is None
    _client(secret).get(f"{V1}/users/me", REMOTE_ADDR="10.1.2.3")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_ip == "10.1.2.3"


# --- integration tokens: API ---------------------------------------------------------------------


def test_admin_makes_a_telephony_token_that_reaches_telephony_only(api_for, admin_user):
    admin = api_for(admin_user)
    response = admin.post(
        f"{V1}/integration-tokens", {"name": "Asterisk", "scopes": ["telephony"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    assert body["scopes"] == ["telephony"] and body["active"] is True
    account = User.objects.get(pk=body["user"])
    assert account.role == Role.INTEGRATION and not account.has_usable_password()
    pbx = _client(secret)
    event = {"call_id": "c-1", "event": "ringing", "direction": "in", "caller": "+79123456789"}
    assert pbx.post(f"{V1}/telephony/events", event, format="json").status_code == 202
    assert pbx.get(f"{V1}/telephony/route", {"caller": "+79123456789"}).status_code == 200
    refused = pbx.get(f"{V1}/contacts")
    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
    assert pbx.get(f"{V1}/integration-tokens").status_code == 403
    # The secret is never shown again.
    listed = admin.get(f"{V1}/integration-tokens").json()["results"]
    assert [row["name"] for row in listed] == ["Asterisk"] and "token" not in listed[0]
    assert secret not in admin.get(f"{V1}/integration-tokens/{body['id']}").content.decode()


def test_a_read_only_token_reads_but_does_not_write(api_for, admin_user):
    _token, secret = integration_token_create(actor=admin_user, name="BI", scopes=["read"], user=admin_user)
    script = _client(secret)
    assert script.get(f"{V1}/contacts").status_code == 200
    response = script.post(f"{V1}/contacts", {"full_name": "Новый"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "token_scope"


@pytest.fixture
def routing_cache_on(settings):
    forget_tokens()
    settings.OTDEL_ROUTING_CACHE_SECONDS = 5
    yield settings
    forget_tokens()


@pytest.mark.django_db(transaction=True)
def test_revoking_stops_the_token_at_once(api_for, admin_user, routing_cache_on):
    """Also when the route's token memory has it (outside a transaction, as in production)."""
    admin = api_for(admin_user)
    body = admin.post(
        f"{V1}/integration-tokens", {"name": "PBX", "scopes": ["telephony"]}, format="json"
    ).json()
    pbx = _client(body["token"])
    assert pbx.get(f"{V1}/telephony/route", {"caller": "1"}).status_code == 200
    assert admin.delete(f"{V1}/integration-tokens/{body['id']}").status_code == 204
    assert pbx.get(f"{V1}/telephony/route", {"caller": "1"}).status_code == 401
    assert admin.delete(f"{V1}/integration-tokens/{body['id']}").status_code == 204  # repeat: harmless
    assert admin.get(f"{V1}/integration-tokens/{body['id']}").json()["active"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "x"}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": "telephony"}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": [{"a": 1}]}, "scopes"),
        ({"name": "x" * 200, "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "user": 99999}, "user"),
        ({"name": "x", "scopes": ["read"], "expires_at": "yesterday"}, "expires_at"),
        ({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_makes_nothing(api_for, admin_user, payload, field):
    response = api_for(admin_user).post(f"{V1}/integration-tokens", payload, format="json")
    assert response.status_code == 400, response.content
    assert any(key.split(".")[0] == field for key in response.json()["errors"])
    assert not ApiToken.objects.filter(kind="integration").exists()
    assert not User.objects.filter(role=Role.INTEGRATION).exists()


def test_only_administrators_manage_integration_tokens(api_for, person, admin_user):
    token, _secret = integration_token_create(actor=admin_user, name="PBX", scopes=["telephony"])
    client = api_for(person)
    assert client.get(f"{V1}/integration-tokens").status_code == 403
    assert (
        client.post(f"{V1}/integration-tokens", {"name": "x", "scopes": ["read"]}, format="json").status_code
        == 403
    )
    assert client.delete(f"{V1}/integration-tokens/{token.pk}").status_code == 403
    assert api_for(admin_user).delete(f"{V1}/integration-tokens/999999").status_code == 404


# --- integration tokens: page --------------------------------------------------------------------


def test_the_page_makes_a_token_shows_it_once_and_revokes_it(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/settings/integration-tokens/", {"name": "Asterisk в офисе", "scopes": ["telephony", "read"]}
    )
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret and secret in response.content.decode()
    token = ApiToken.objects.get(kind="integration")
    assert token.scopes == ["read", "telephony"] and token.name == "Asterisk в офисе"
    page = client.get("/settings/integration-tokens/").content.decode()
    assert "Asterisk в офисе" in page and secret not in page and token.prefix in page
    assert _client(secret).get(f"{V1}/telephony/route", {"caller": "1"}).status_code == 200
    assert client.get(f"/settings/integration-tokens/{token.pk}/revoke/").status_code == 405
    assert client.post(f"/settings/integration-tokens/{token.pk}/revoke/").status_code == 302
    assert _client(secret).get(f"{V1}/telephony/route", {"caller": "1"}).status_code == 401


def test_the_page_shows_errors_and_is_for_administrators_only(client, admin_user, person):
    client.force_login(admin_user)
    response = client.post("/settings/integration-tokens/", {"name": "", "scopes": ["nope"]})
    assert response.status_code == 200 and response.context["secret"] is None
    assert response.context["form"].errors.keys() >= {"name", "scopes"}
    assert not ApiToken.objects.exists()
    client.force_login(person)
    assert client.get("/settings/integration-tokens/").status_code == 404


# --- the migration of plain-text tokens ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_existing_plain_text_tokens_keep_working_hashed(person):
    import importlib

    from django.apps import apps
    from django.db import connection

    pbx = UserFactory(username="old-pbx", role=Role.INTEGRATION)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint, created timestamp)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s), (%s, %s, %s)",
            ["a" * 40, pbx.pk, "2026-01-01 00:00:00", "b" * 40, person.pk, "2026-01-02 00:00:00"],
        )
    try:
        migration = importlib.import_module("otdel.accounts.migrations.0005_hash_existing_tokens")
        with connection.schema_editor() as editor:
            migration.hash_tokens(apps, editor)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM authtoken_token")
            assert cursor.fetchone()[0] == 0  # no plain-text key left
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE authtoken_token")
    assert _client("a" * 40).get(f"{V1}/telephony/route", {"caller": "1"}).status_code == 200
    assert _client("b" * 40).get(f"{V1}/users/me").json()["username"] == "person"
    assert ApiToken.objects.get(user=pbx).expires_at is None
    assert ApiToken.objects.get(user=person).expires_at is not None

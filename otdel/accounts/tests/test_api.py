"""Accounts REST API: getting a token, user administration, /users/me."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from otdel.accounts.models import Role, User
from otdel.accounts.tests.factories import PASSWORD, UserFactory
from otdel.core.models import ObjectChange

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The token endpoint's rate limit counts in the cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def assert_error(response, status, field, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert field in body["errors"], body
    if code is not None:
        assert body["code"] == code, body


# --- token -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/token", "/auth/token/"])
def test_token_for_username_and_password_opens_the_api(manager, path):
    client = APIClient()
    response = client.post(V1 + path, {"username": "manager", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"{V1}/users/me").json()["username"] == "manager"
    # Asking again gives another token (the first is stored hashed, it cannot be shown again);
    # both work.
    again = APIClient().post(V1 + path, {"username": "manager", "password": PASSWORD}, format="json")
    assert again.json()["token"] != token
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Token {again.json()['token']}")
    assert second.get(f"{V1}/users/me").status_code == 200
    assert client.get(f"{V1}/users/me").status_code == 200


def test_token_with_bad_credentials_is_400(manager):
    response = APIClient().post(
        f"{V1}/auth/token", {"username": "manager", "password": "wrong"}, format="json"
    )
    assert_error(response, 400, "__all__", "invalid_credentials")
    assert_error(
        APIClient().post(f"{V1}/auth/token", {"username": "manager"}, format="json"), 400, "password"
    )


def test_token_for_a_switched_off_user_is_400(manager):
    manager.is_active = False
    manager.save()
    response = APIClient().post(
        f"{V1}/auth/token", {"username": "manager", "password": PASSWORD}, format="json"
    )
    assert_error(response, 400, "__all__")


def test_token_ignores_a_stale_token_header(manager):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.post(f"{V1}/auth/token", {"username": "manager", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_token_guessing_is_rate_limited(manager, settings):
    settings.AXES_ENABLED = False  # the per-address throttle alone (the lockout: otdel/core/tests)
    client = APIClient()
    codes = [
        client.post(
            f"{V1}/auth/token", {"username": "manager", "password": f"guess{n}"}, format="json"
        ).status_code
        for n in range(31)
    ]
    assert codes[:30] == [400] * 30
    assert codes[30] == 429
    assert (
        APIClient().post(f"{V1}/auth/token", {"username": "manager", "password": PASSWORD}).status_code == 429
    )


def test_no_token_is_401_with_the_error_shape(db):
    response = APIClient().get(f"{V1}/users/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response.json()["code"] == "not_authenticated"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    assert bad.get(f"{V1}/users/me").status_code == 401


# --- users -----------------------------------------------------------------------------------


def test_admin_creates_a_user(api_for, admin_user, department):
    payload = {
        "username": "petrova",
        "password": "Kx9-otdel-pass",
        "full_name": "Петрова Анна",
        "email": "petrova@example.ru",
        "role": "sales_manager",
        "extension": "105",
        "department": department.pk,
    }
    response = api_for(admin_user).post(f"{V1}/users", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] and body["username"] == "petrova" and body["role"] == "sales_manager"
    assert body["extension"] == "105" and body["department_name"] == "Отдел продаж"
    assert "password" not in body
    user = User.objects.get(username="petrova")
    assert user.check_password("Kx9-otdel-pass")
    assert ObjectChange.objects.filter(object_id=user.pk, action="create").exists()
    # The new user can sign in through the API at once.
    token = APIClient().post(
        f"{V1}/auth/token", {"username": "petrova", "password": "Kx9-otdel-pass"}, format="json"
    )
    assert token.status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "boss"}, "role"),
        ({"password": "123"}, "password"),
        ({"username": ""}, "username"),
        ({"extension": "1"}, "extension"),
        ({"email": "nope"}, "email"),
        ({"department": 999}, "department"),
    ],
)
def test_user_create_bad_input_is_400(api_for, admin_user, change, field):
    payload = {"username": "newbie", "password": "Kx9-otdel-pass", "role": "sales_manager", **change}
    assert_error(api_for(admin_user).post(f"{V1}/users", payload, format="json"), 400, field)
    assert not User.objects.filter(username="newbie").exists()


def test_user_create_conflicts_are_409(api_for, admin_user, manager):
    client = api_for(admin_user)
    taken_name = {"username": "Manager", "password": "Kx9-otdel-pass"}
    assert_error(client.post(f"{V1}/users", taken_name, format="json"), 409, "username", "username_taken")
    taken_ext = {"username": "other", "password": "Kx9-otdel-pass", "extension": "101"}
    assert_error(client.post(f"{V1}/users", taken_ext, format="json"), 409, "extension", "extension_taken")
    assert User.objects.count() == 2


def test_only_admins_administer_users(api_for, manager, head, office_manager):
    payload = {"username": "x", "password": "Kx9-otdel-pass"}
    for user in (manager, head, office_manager):
        client = api_for(user)
        assert_error(client.post(f"{V1}/users", payload, format="json"), 403, "__all__", "permission_denied")
        assert client.get(f"{V1}/users").status_code == 403
        assert client.get(f"{V1}/users/{manager.pk}").status_code == 403
        assert client.patch(f"{V1}/users/{manager.pk}", {"role": "admin"}, format="json").status_code == 403
    assert User.objects.get(pk=manager.pk).role == Role.SALES_MANAGER
    assert not User.objects.filter(username="x").exists()


def test_admin_lists_retrieves_and_changes_users(api_for, admin_user, manager, head):
    client = api_for(admin_user)
    listed = client.get(f"{V1}/users").json()["results"]
    assert {u["username"] for u in listed} == {"admin", "manager", "head"}
    assert [
        u["username"] for u in client.get(f"{V1}/users", {"role": "head_of_sales"}).json()["results"]
    ] == ["head"]
    assert client.get(f"{V1}/users/{manager.pk}").json()["extension"] == "101"
    assert client.get(f"{V1}/users/999999").status_code == 404

    response = client.patch(
        f"{V1}/users/{manager.pk}",
        {"role": "head_of_sales", "extension": "111", "language": "ru"},
        format="json",
    )
    assert response.status_code == 200, response.content
    manager.refresh_from_db()
    assert (manager.role, manager.extension, manager.language) == ("head_of_sales", "111", "ru")

    assert_error(
        client.patch(f"{V1}/users/{manager.pk}", {"extension": "100"}, format="json"), 409, "extension"
    )
    assert_error(
        client.patch(f"{V1}/users/{manager.pk}", {"work_days": [9]}, format="json"), 400, "work_days.0"
    )

    response = client.patch(f"{V1}/users/{manager.pk}", {"password": "New-otdel-pass-1"}, format="json")
    assert response.status_code == 200
    manager.refresh_from_db()
    assert manager.check_password("New-otdel-pass-1")

    client.patch(f"{V1}/users/{head.pk}", {"is_active": False}, format="json")
    assert User.objects.get(pk=head.pk).is_active is False


@pytest.mark.parametrize("role", [r for r in Role.values])
def test_users_me_for_every_role(api_for, role):
    user = UserFactory(username=f"u_{role}", role=role, full_name="Кто-то")
    response = api_for(user).get(f"{V1}/users/me")
    assert response.status_code == 200
    assert response.json()["id"] == user.pk
    assert response.json()["role"] == role


def test_users_list_query_count(api_for, admin_user, department, django_assert_max_num_queries):
    for n in range(30):
        UserFactory(username=f"seller{n}", department=department)
    client = api_for(admin_user)
    with django_assert_max_num_queries(3):
        response = client.get(f"{V1}/users")
    assert response.json()["count"] == 31

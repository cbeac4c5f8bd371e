"""API plumbing: optional trailing slash, 401 without a token, the error shape of unknown records."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LIST_PATHS = ["users", "contacts", "companies", "leads", "deals", "pipelines", "lost-reasons"]


@pytest.mark.parametrize("name", LIST_PATHS)
def test_list_answers_with_and_without_the_trailing_slash(api_for, admin_user, name):
    client = api_for(admin_user)
    for path in (f"/api/v1/{name}", f"/api/v1/{name}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "results" in response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/users"),
        ("get", "/api/v1/users/me"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/contacts"),
        ("post", "/api/v1/contacts"),
        ("get", "/api/v1/contacts/1"),
        ("patch", "/api/v1/contacts/1"),
        ("get", "/api/v1/contacts/1/timeline"),
        ("post", "/api/v1/contacts/1/merge"),
        ("post", "/api/v1/contacts/1/restore-target"),
        ("get", "/api/v1/contacts/1/notes"),
        ("get", "/api/v1/companies"),
        ("post", "/api/v1/companies"),
        ("get", "/api/v1/leads"),
        ("post", "/api/v1/leads"),
        ("post", "/api/v1/leads/1/triage"),
        ("get", "/api/v1/deals"),
        ("post", "/api/v1/deals"),
        ("patch", "/api/v1/deals/1"),
        ("post", "/api/v1/deals/1/move"),
        ("post", "/api/v1/deals/1/notes"),
        ("get", "/api/v1/pipelines"),
        ("post", "/api/v1/pipelines"),
        ("get", "/api/v1/lost-reasons"),
    ],
)
def test_without_a_token_every_endpoint_is_401(method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401, path
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["errors"]["__all__"]


def test_unknown_record_is_404_in_the_error_shape(api_for, admin_user):
    response = api_for(admin_user).get("/api/v1/deals/999999")
    assert response.status_code == 404
    assert response.json() == {
        "errors": {"__all__": [response.json()["errors"]["__all__"][0]]},
        "code": "not_found",
    }


def test_a_non_numeric_id_is_not_routed(api_for, admin_user):
    assert api_for(admin_user).get("/api/v1/deals/abc").status_code == 404

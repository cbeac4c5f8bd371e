"""The OpenAPI schema and Swagger UI describe the contract; every path answers with and without "/"."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import resolve
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# Every operation of CONTRACTS.md (/work/shared/CONTRACTS.md), spelled as there ({id} for any path
# parameter). Extend this list when the contract grows; the schema must describe all of it.
CONTRACT_OPERATIONS = [
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/queues"),
    ("put", "/api/v1/routing/settings"),
    ("post", "/api/v1/contacts"),
    ("get", "/api/v1/contacts"),
    ("get", "/api/v1/contacts/{id}/timeline"),
    ("post", "/api/v1/contacts/{id}/restore-target"),
    ("post", "/api/v1/leads"),
    ("get", "/api/v1/leads"),
    ("post", "/api/v1/leads/{id}/triage"),
    ("get", "/api/v1/deals"),
    ("post", "/api/v1/deals"),
    ("post", "/api/v1/deals/{id}/move"),
    ("post", "/api/v1/consent-purposes"),
    ("post", "/api/v1/forms"),
    ("post", "/api/v1/forms/{slug}/submissions"),
    ("get", "/api/v1/telephony/route"),
    ("post", "/api/v1/telephony/events"),
    ("post", "/api/v1/mailboxes"),
    ("post", "/api/v1/telegram/{bot_key}/webhook"),
    ("get", "/api/v1/reports/funnel"),
    ("get", "/api/v1/reports/traffic"),
]
CONTRACT_PATHS = sorted({path for _, path in CONTRACT_OPERATIONS})

# The paths this part of the API serves (auth, users, CRM), beyond the contract's minimum.
CRM_PATHS = [
    "/api/v1/auth/token",
    "/api/v1/users",
    "/api/v1/users/{id}",
    "/api/v1/users/me",
    "/api/v1/contacts",
    "/api/v1/contacts/{id}",
    "/api/v1/contacts/{id}/merge",
    "/api/v1/contacts/{id}/notes",
    "/api/v1/contacts/{id}/timeline",
    "/api/v1/contacts/{id}/restore-target",
    "/api/v1/companies",
    "/api/v1/companies/{id}",
    "/api/v1/companies/{id}/notes",
    "/api/v1/leads",
    "/api/v1/leads/{id}",
    "/api/v1/leads/{id}/triage",
    "/api/v1/deals",
    "/api/v1/deals/{id}",
    "/api/v1/deals/{id}/move",
    "/api/v1/deals/{id}/notes",
    "/api/v1/pipelines",
    "/api/v1/pipelines/{id}",
    "/api/v1/lost-reasons",
]


@pytest.fixture(scope="module")
def schema_paths():
    client = APIClient()
    response = client.get("/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()["paths"]


def _shape(path: str) -> str:
    """``/contacts/{pk}`` and ``/contacts/{id}/`` compare equal: parameter names and the slash aside."""
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


def test_schema_lists_every_contract_operation(schema_paths):
    by_shape: dict[str, set[str]] = {}
    for path, operations in schema_paths.items():
        by_shape.setdefault(_shape(path), set()).update(operations)
    missing = [(m, p) for m, p in CONTRACT_OPERATIONS if m not in by_shape.get(_shape(p), set())]
    assert missing == []


def test_schema_lists_each_path_once(schema_paths):
    # "/x" and "/x/" both answer (see test_routing.py), but the schema shows one of them.
    shapes = [_shape(p) for p in schema_paths]
    assert sorted({s for s in shapes if shapes.count(s) > 1}) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/consent-purposes",
        "/api/v1/consent-purposes/pd-processing",
        "/api/v1/forms",
        "/api/v1/forms/site-form",
        "/api/v1/forms/site-form/public",
        "/api/v1/forms/site-form/submissions",
        "/api/v1/telephony/events",
    ],
)
def test_one_route_answers_with_and_without_the_slash_and_is_listed_once(schema_paths, path):
    assert resolve(path).func is resolve(path + "/").func
    assert resolve(path).kwargs == resolve(path + "/").kwargs
    listed = re.sub(r"/site-form", "/{slug}", re.sub(r"/pd-processing$", "/{code}", path))
    assert listed in schema_paths and listed + "/" not in schema_paths


def test_lists_answer_with_and_without_the_slash(api_for, admin_user):
    client = api_for(admin_user)
    for path in ("/api/v1/forms", "/api/v1/forms/", "/api/v1/consent-purposes", "/api/v1/consent-purposes/"):
        assert client.get(path).status_code == 200, path


def test_route_endpoint_uses_the_one_token_scheme(schema_paths):
    route = next(ops for path, ops in schema_paths.items() if _shape(path) == "/api/v1/telephony/route")
    assert {"tokenAuth": []} in route["get"]["security"]


def test_schema_spells_crm_paths_as_the_contract_does(schema_paths):
    # Exactly, without a trailing slash, and once each (no duplicate operations for "/" variants).
    assert [p for p in CRM_PATHS if p not in schema_paths] == []
    assert not [p for p in schema_paths if _shape(p) in {_shape(c) for c in CRM_PATHS} and p.endswith("/")]


def test_schema_documents_request_and_error_shapes(schema_paths):
    create = schema_paths["/api/v1/contacts"]["post"]
    assert set(create["responses"]) >= {"201", "400", "409"}
    move = schema_paths["/api/v1/deals/{id}/move"]["post"]
    assert "requestBody" in move and set(move["responses"]) >= {"200", "400", "404", "409"}
    # Getting a token needs no token.
    assert schema_paths["/api/v1/auth/token"]["post"].get("security", []) in ([], [{}])
    assert {"tokenAuth": []} in schema_paths["/api/v1/contacts"]["get"]["security"]


def test_schema_generates_without_warnings_and_validates(tmp_path):
    # Any warning (a duplicate operationId, an unresolvable field, a component name clash) fails
    # the command; its stderr, shown with the failure, names the warning.
    GENERATOR_STATS.reset()
    try:
        call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yml"))
    finally:
        GENERATOR_STATS.reset()
    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")


def test_swagger_ui_is_served_without_a_cdn(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html

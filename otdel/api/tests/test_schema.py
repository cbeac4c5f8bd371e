"""The OpenAPI schema and Swagger UI describe the contract; every path answers with and without "/"."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# Every path of CONTRACTS.md, spelled as there ({id} for any path parameter).
CONTRACT_PATHS = [
    "/api/v1/auth/token",
    "/api/v1/users",
    "/api/v1/queues",
    "/api/v1/routing/settings",
    "/api/v1/contacts",
    "/api/v1/contacts/{id}/timeline",
    "/api/v1/contacts/{id}/restore-target",
    "/api/v1/leads",
    "/api/v1/leads/{id}/triage",
    "/api/v1/deals",
    "/api/v1/deals/{id}/move",
    "/api/v1/consent-purposes",
    "/api/v1/forms",
    "/api/v1/forms/{slug}/submissions",
    "/api/v1/telephony/route",
    "/api/v1/telephony/events",
    "/api/v1/mailboxes",
    "/api/v1/telegram/{bot_key}/webhook",
    "/api/v1/reports/funnel",
    "/api/v1/reports/traffic",
]

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

CRM_VIEWS = [
    "TokenObtainView",
    "UserViewSet",
    "ContactViewSet",
    "CompanyViewSet",
    "LeadViewSet",
    "DealViewSet",
    "PipelineViewSet",
    "LostReasonViewSet",
]


@pytest.fixture(scope="module")
def schema_paths():
    client = APIClient()
    response = client.get("/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()["paths"]


def _shape(path: str) -> str:
    """``/contacts/{pk}`` and ``/contacts/{id}/`` compare equal: parameter names and the slash aside."""
    import re

    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


def test_schema_lists_every_contract_path(schema_paths):
    served = {_shape(p) for p in schema_paths}
    missing = [p for p in CONTRACT_PATHS if _shape(p) not in served]
    assert missing == []


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


def test_schema_has_no_warnings_for_these_views():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    messages = list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    ours = [
        m
        for m in messages
        if any(view in m for view in CRM_VIEWS)
        or any(f"'{p}'" in m or f"'{p}/'" in m for p in CRM_PATHS)
        or "otdel/crm/api" in m
        or "otdel/accounts/api" in m
        or "otdel/api/" in m
    ]
    assert ours == []


def test_swagger_ui_is_served_without_a_cdn(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html

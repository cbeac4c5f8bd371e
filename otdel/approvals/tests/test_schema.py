"""The OpenAPI schema describes every approvals operation of CONTRACTS.md."""

import pytest
from rest_framework.test import APIClient

OPERATIONS = [
    ("post", "/api/v1/approval-routes"),
    ("post", "/api/v1/documents/{id}/approval"),
    ("post", "/api/v1/approvals/{id}/decision"),
    ("get", "/api/v1/approvals"),
    ("post", "/api/v1/department-requests"),
    ("post", "/api/v1/department-requests/{id}/status"),
]


@pytest.mark.django_db
def test_schema_lists_the_approvals_contract():
    response = APIClient().get(
        "/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    paths = response.json()["paths"]
    assert [(m, p) for m, p in OPERATIONS if m not in paths.get(p, {})] == []

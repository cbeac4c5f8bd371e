"""The OpenAPI schema describes every documents operation of CONTRACTS.md."""

import pytest
from rest_framework.test import APIClient

OPERATIONS = [
    ("post", "/api/v1/products"),
    ("put", "/api/v1/deals/{id}/items"),
    ("put", "/api/v1/my-company"),
    ("post", "/api/v1/companies"),
    ("patch", "/api/v1/companies/{id}"),
    ("post", "/api/v1/document-templates"),
    ("post", "/api/v1/numbering"),
    ("post", "/api/v1/deals/{id}/documents"),
    ("get", "/api/v1/deals/{id}/documents"),
    ("get", "/api/v1/documents/{id}"),
    ("post", "/api/v1/documents/{id}/regenerate"),
    ("get", "/api/v1/documents/{id}/download"),
]


@pytest.mark.django_db
def test_schema_lists_the_documents_contract():
    response = APIClient().get(
        "/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    paths = response.json()["paths"]
    assert [(m, p) for m, p in OPERATIONS if m not in paths.get(p, {})] == []

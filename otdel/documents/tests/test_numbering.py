"""Numbers: patterns, yearly reset, and 100 parallel generations getting 100 distinct consecutive
numbers (runs on SQLite and PostgreSQL; on PostgreSQL the counter row lock does the queueing)."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from otdel.documents import services
from otdel.documents.models import Document
from otdel.documents.numbering import format_number, number_issue, pattern_error

V1 = "/api/v1"


def test_patterns():
    date = datetime.date(2026, 12, 2)
    assert format_number("Д-{YYYY}-{N:04}", counter=7, date=date) == "Д-2026-0007"
    assert format_number("{YY}{MM}/{N}", counter=123, date=date) == "2612/123"
    assert pattern_error("Д-{YYYY}") is not None
    assert pattern_error("Д-{YEAR}-{N}") is not None
    assert pattern_error("Д-{YYYY}-{N:04}") is None


@pytest.mark.django_db
def test_yearly_reset_and_never(admin_user):
    yearly = services.numbering_create(actor=admin_user, code="c", pattern="Д-{YYYY}-{N:03}")
    never = services.numbering_create(actor=admin_user, code="n", pattern="КП-{N}", reset="never")
    with transaction.atomic():
        issued = [
            number_issue(sequence=yearly, date=datetime.date(2026, 12, 31)),
            number_issue(sequence=yearly, date=datetime.date(2026, 12, 31)),
            number_issue(sequence=yearly, date=datetime.date(2027, 1, 1)),
            number_issue(sequence=never, date=datetime.date(2026, 12, 31)),
            number_issue(sequence=never, date=datetime.date(2027, 1, 1)),
        ]
    assert issued == ["Д-2026-001", "Д-2026-002", "Д-2027-001", "КП-1", "КП-2"]


@pytest.mark.django_db
def test_numbering_api(api_for, admin_user, manager):
    response = api_for(admin_user).post(
        f"{V1}/numbering",
        {"code": "contract", "pattern": "Д-{YYYY}-{N:04}", "reset": "yearly"},
        format="json",
    )
    assert response.status_code == 201
    assert (
        api_for(admin_user)
        .post(f"{V1}/numbering", {"code": "contract", "pattern": "Д-{N}"}, format="json")
        .status_code
        == 409
    )
    bad = api_for(admin_user).post(f"{V1}/numbering", {"code": "x", "pattern": "Д-{YYYY}"}, format="json")
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["pattern"])
    assert (
        api_for(manager).post(f"{V1}/numbering", {"code": "y", "pattern": "{N}"}, format="json").status_code
        == 403
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_generations_get_distinct_consecutive_numbers(manager, deal, invoice_template, monkeypatch):
    # The number is what is under test; the files are made by the worker elsewhere.
    monkeypatch.setattr(services, "_enqueue", lambda document: None)

    def create(_n: int) -> str:
        try:
            return services.document_create(
                actor=manager, deal=deal, template=invoice_template, format="pdf"
            ).number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(create, range(100)))
    year = datetime.date.today().year
    assert len(set(numbers)) == 100
    assert sorted(numbers) == [f"СЧ-{year}-{n:04d}" for n in range(1, 101)]
    assert Document.objects.count() == 100

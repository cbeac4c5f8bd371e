"""Lost updates: two PATCHes of different fields made from the same read both survive; the same
field with a stale version is still a 409."""

from decimal import Decimal

import pytest

from otdel.crm import services
from otdel.crm.api.views import DealViewSet
from otdel.crm.models import Company, Deal
from otdel.crm.tests.factories import CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db


def _patch_from(monkeypatch, viewset, stale):
    """The next PATCH works on ``stale``, a copy read before the other PATCH saved (a race)."""
    monkeypatch.setattr(viewset, "get_object", lambda self: stale)


def test_two_patches_of_different_deal_fields_both_survive(api_for, admin_user, monkeypatch):
    deal = DealFactory(title="Поставка", amount=Decimal("100"))
    stale = Deal.objects.get(pk=deal.pk)
    client = api_for(admin_user)
    assert (
        client.patch(f"/api/v1/deals/{deal.pk}/", {"title": "Поставка бумаги"}, format="json").status_code
        == 200
    )
    _patch_from(monkeypatch, DealViewSet, stale)
    response = client.patch(f"/api/v1/deals/{deal.pk}/", {"amount": "250.00"}, format="json")
    assert response.status_code == 200, response.content
    deal.refresh_from_db()
    assert (deal.title, deal.amount) == ("Поставка бумаги", Decimal("250.00"))
    assert deal.version == 3  # one step per save, though both read version 1


def test_same_field_with_the_stale_version_is_409(api_for, admin_user, monkeypatch):
    deal = DealFactory(title="Поставка")
    stale = Deal.objects.get(pk=deal.pk)
    client = api_for(admin_user)
    first = client.patch(f"/api/v1/deals/{deal.pk}/", {"title": "A", "version": 1}, format="json")
    assert first.status_code == 200
    _patch_from(monkeypatch, DealViewSet, stale)
    second = client.patch(f"/api/v1/deals/{deal.pk}/", {"title": "B", "version": 1}, format="json")
    assert second.status_code == 409
    deal.refresh_from_db()
    assert deal.title == "A"


def test_company_fields_edited_side_by_side_both_survive(admin_user):
    company = CompanyFactory(name="Ромашка", inn="")
    one, two = Company.objects.get(pk=company.pk), Company.objects.get(pk=company.pk)
    services.company_update(actor=admin_user, company=one, website="https://romashka.example")
    services.company_update(actor=admin_user, company=two, comment="Платят вовремя")
    company.refresh_from_db()
    assert (company.website, company.comment) == ("https://romashka.example", "Платят вовремя")

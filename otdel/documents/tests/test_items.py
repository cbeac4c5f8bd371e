"""Deal line items: totals with VAT, the deal amount follows them, concurrent edits get 409."""

from __future__ import annotations

import pytest

from otdel.core.models import ObjectChange
from otdel.crm.models import Deal
from otdel.documents import services

V1 = "/api/v1"
pytestmark = pytest.mark.django_db


def test_put_items_returns_totals_and_sets_the_deal_amount(api_for, manager, deal, head):
    product = services.product_create(
        actor=head, sku="TV-16", name="Станок токарный ТВ-16", unit="шт", price="450000", vat_rate="20"
    )
    client = api_for(manager)
    response = client.put(
        f"{V1}/deals/{deal.pk}/items",
        {
            "items": [
                {"product": product.pk, "quantity": "2", "discount_percent": "5"},
                {
                    "name": "Пусконаладочные работы",
                    "quantity": "8",
                    "unit": "ч",
                    "price": "3500",
                    "vat_rate": "20",
                },
                {"name": "Доставка", "quantity": "1", "unit": "усл", "price": "1000.01", "vat_rate": "none"},
            ],
            "version": deal.version,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [i["total"] for i in body["items"]] == ["855000.00", "28000.00", "1000.01"]
    assert body["items"][0]["name"] == "Станок токарный ТВ-16"  # taken from the product
    assert body["items"][0]["unit"] == "шт"
    assert body["totals"] == {"net": "736833.34", "vat": "147166.67", "gross": "884000.01"}
    assert body["amount"] == "884000.01"
    deal.refresh_from_db()
    assert str(deal.amount) == "884000.01"
    assert client.get(f"{V1}/deals/{deal.pk}").json()["amount"] == "884000.01"
    assert ObjectChange.objects.filter(object_id=deal.pk, changes__has_key="items").exists()


def test_a_stale_version_is_refused_with_409(api_for, manager, deal):
    client = api_for(manager)
    stale = deal.version
    first = client.put(
        f"{V1}/deals/{deal.pk}/items",
        {"items": [{"name": "А", "price": "10"}], "version": stale},
        format="json",
    )
    assert first.status_code == 200
    second = client.put(
        f"{V1}/deals/{deal.pk}/items",
        {"items": [{"name": "Б", "price": "20"}], "version": stale},
        format="json",
    )
    assert second.status_code == 409
    assert second.json()["code"] == "stale_version"
    assert list(Deal.objects.get(pk=deal.pk).items.values_list("name", flat=True)) == ["А"]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"name": "", "price": "1"}, "items.0.name"),
        ({"name": "А", "price": "1", "vat_rate": "18"}, "items.0.vat_rate"),
        ({"name": "А", "price": "-1"}, "items.0.price"),
        ({"name": "А", "price": "1", "discount_percent": "120"}, "items.0.discount_percent"),
        ({"name": "А", "price": "1", "quantity": "0"}, "items.0.quantity"),
    ],
)
def test_bad_items_are_400_naming_the_field(api_for, manager, deal, item, field):
    response = api_for(manager).put(f"{V1}/deals/{deal.pk}/items", {"items": [item]}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_someone_elses_deal_is_404(api_for, other_manager, deal):
    assert (
        api_for(other_manager).put(f"{V1}/deals/{deal.pk}/items", {"items": []}, format="json").status_code
        == 404
    )
    assert api_for(other_manager).get(f"{V1}/deals/{deal.pk}/items").status_code == 404


def test_products_api(api_for, manager, head):
    response = api_for(manager).post(
        f"{V1}/products", {"sku": "X", "name": "Y", "unit": "шт", "price": "1"}, format="json"
    )
    assert response.status_code == 403
    response = api_for(head).post(
        f"{V1}/products",
        {"sku": "SVC-1", "name": "Монтаж оборудования", "unit": "усл", "price": "15000.50", "vat_rate": "20"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["price"] == "15000.50"
    again = api_for(head).post(
        f"{V1}/products", {"sku": "SVC-1", "name": "Другое", "price": "1"}, format="json"
    )
    assert again.status_code == 409
    found = api_for(manager).get(f"{V1}/products?q=монтаж").json()["results"]
    assert [p["sku"] for p in found] == ["SVC-1"]

"""Products (the catalog of otdel.documents) through the import: headers guessed in Russian and
English, prices in both notations, VAT rates checked by the catalog, dedupe by SKU, undo."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import TestCase

from otdel.core.models import ObjectChange
from otdel.crm.tests.factories import DealFactory
from otdel.documents import services as documents
from otdel.documents.models import DealItem, Product
from otdel.transfer import layouts, services
from otdel.transfer.models import ImportRow
from otdel.transfer.tests import files

pytestmark = pytest.mark.django_db

HEADER = ["Артикул", "Наименование", "Цена, руб.", "Ставка НДС", "Ед. изм.", "Описание", "Активен"]


def run(admin, rows, *, name="catalog.csv", start=True, **options):
    data = files.xlsx_bytes(rows) if name.endswith(".xlsx") else files.csv_bytes(rows)
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = services.import_create(
            actor=admin, upload=files.upload(data, name), kind="products", start=start, **options
        )
    job.refresh_from_db()
    return job


def outcomes(job):
    return [(r.row, r.outcome, r.field, r.message) for r in ImportRow.objects.filter(job=job).order_by("row")]


def test_headers_are_guessed_in_russian_and_english():
    assert layouts.guess_mapping(HEADER, "products") == {
        "0": "sku",
        "1": "product_name",
        "2": "price",
        "3": "vat_rate",
        "4": "unit",
        "6": "is_active",
    }  # the catalog has no description: "Описание" is not imported
    english = ["SKU", "Name", "Price", "VAT", "Unit", "Active"]
    assert list(layouts.guess_mapping(english, "products").values()) == [
        "sku",
        "product_name",
        "price",
        "vat_rate",
        "unit",
        "is_active",
    ]
    assert layouts.guess_mapping(["Название", "Цена с НДС, руб.", "НДС, %"], "products") == {
        "0": "product_name",
        "1": "price",
        "2": "vat_rate",
    }


def test_a_good_file_fills_the_catalog_through_its_services(admin_user):
    job = run(
        admin_user,
        [
            HEADER,
            ["ST-1", "Станок токарный", "1 234 567,89", "20%", "шт", "Большой", "да"],
            ["SV-2", "Монтаж", "1,234,567.89", "Без НДС", "усл", "", "нет"],
            ["KG-3", "Смазка", "99.5", "НДС 10 %", "кг", "", ""],
            ["ZR-4", "Экспорт", "0", "0", "", "", "1"],
        ],
        dry_run=False,
    )

    assert job.status == "done", job.message
    assert (job.total, job.created, job.errors) == (4, 4, 0)
    products = {p.sku: p for p in Product.objects.all()}
    lathe, service, grease, export = (products[s] for s in ("ST-1", "SV-2", "KG-3", "ZR-4"))
    assert (lathe.name, lathe.price, lathe.vat_rate, lathe.unit, lathe.is_active) == (
        "Станок токарный",
        Decimal("1234567.89"),
        "20",
        "шт",
        True,
    )
    assert (service.price, service.vat_rate, service.unit, service.is_active) == (
        Decimal("1234567.89"),
        "none",
        "усл",
        False,
    )
    assert (grease.price, grease.vat_rate) == (Decimal("99.50"), "10")
    assert (export.vat_rate, export.unit, export.is_active) == ("0", "шт", True)  # the catalog's default unit
    assert ObjectChange.objects.filter(action="create", content_type__model="product").count() == 4


def test_an_xlsx_with_number_cells_a_percent_cell_and_true_false(admin_user):
    job = run(
        admin_user,
        [
            ["SKU", "Name", "Price", "VAT", "Active"],
            ["X-1", "Pump", 1500.5, 0.2, True],
            ["X-2", "Valve", 12, 0, False],
        ],
        name="catalog.xlsx",
        dry_run=False,
    )

    assert job.status == "done", job.message
    pump, valve = Product.objects.order_by("sku")
    assert (pump.price, pump.vat_rate, pump.is_active) == (Decimal("1500.50"), "20", True)
    assert (valve.price, valve.vat_rate, valve.is_active) == (Decimal("12.00"), "0", False)


BAD = [
    HEADER,
    ["OK-1", "Годный", "100", "20", "шт", "", "да"],
    ["BAD-1", "Плохая цена", "много", "20", "шт", "", ""],
    ["BAD-2", "Отрицательная", "-5", "20", "шт", "", ""],
    ["BAD-3", "Старый НДС", "100", "18%", "шт", "", ""],
    ["BAD-4", "Непонятно", "100", "20", "шт", "", "может быть"],
    ["", "Без артикула", "100", "20", "шт", "", ""],
    ["BAD-5", "", "100", "20", "шт", "", ""],
    ["BAD-6", "Длинная единица", "100", "20", "упаковка по двадцать", "", ""],
]


def test_bad_prices_and_vat_rates_are_row_errors_naming_the_column(admin_user):
    job = run(admin_user, BAD, dry_run=True)

    assert job.status == "done", job.message
    report = {row: (outcome, field, message) for row, outcome, field, message in outcomes(job)}
    assert report[2][0] == "created"
    assert report[3][:2] == ("error", "Цена, руб.") and "“много” is not an amount" in report[3][2]
    assert report[4][:2] == ("error", "Цена, руб.") and "cannot be negative" in report[4][2]
    assert report[5] == ("error", "Ставка НДС", "Choose a VAT rate: 20, 10, 0 or none.")
    assert report[6][:2] == ("error", "Активен") and "neither yes nor no" in report[6][2]
    assert report[7] == ("error", "Артикул", "The SKU is empty.")
    assert report[8][:2] == ("error", "Наименование")  # the catalog requires a name
    assert report[9][:2] == ("error", "Ед. изм.") and "16" in report[9][2]
    assert not Product.objects.exists()  # a dry run writes nothing

    # For real, without "skip rows with errors": the rows the reading catches stop it whole.
    job = run(admin_user, BAD, dry_run=False)
    assert job.status == "failed" and not Product.objects.exists()
    # With it: the good row goes in, each bad one is reported.
    job = run(admin_user, BAD, dry_run=False, skip_invalid=True)
    assert job.status == "done" and (job.created, job.errors) == (1, 7)
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]


@pytest.mark.parametrize(
    ("dedupe", "outcome", "name", "price", "unit"),
    [
        ("skip", "skipped", "Старое имя", Decimal("0"), "шт"),
        ("fill", "updated", "Старое имя", Decimal("250"), "шт"),  # only the price was empty (0)
        ("overwrite", "updated", "Новое имя", Decimal("250"), "компл"),
    ],
)
def test_a_known_sku_follows_the_chosen_mode_and_undo_puts_it_back(
    admin_user, dedupe, outcome, name, price, unit
):
    existing = documents.product_create(actor=admin_user, sku="A-1", name="Старое имя")
    rows = [
        HEADER,
        ["A-1", "Новое имя", "250", "20", "компл", "", ""],
        ["N-1", "Новинка", "10", "10", "шт", "", ""],
        ["N-1", "Новинка 2", "20", "10", "шт", "", ""],  # the same SKU again in the file
    ]

    dry = run(admin_user, rows, dry_run=True, dedupe=dedupe)
    assert [o[1] for o in outcomes(dry)] == [outcome, "created", "skipped" if dedupe == "skip" else "updated"]
    assert Product.objects.count() == 1

    job = run(admin_user, rows, dry_run=False, dedupe=dedupe)

    assert job.status == "done", job.message
    existing.refresh_from_db()
    assert (existing.name, existing.price, existing.unit) == (name, price, unit)
    second = [o[1] for o in outcomes(job)]
    assert second == [
        outcome,
        "created",
        {"skip": "skipped", "fill": "skipped", "overwrite": "updated"}[dedupe],
    ]
    new = Product.objects.get(sku="N-1")
    assert new.name == ("Новинка 2" if dedupe == "overwrite" else "Новинка")

    result = services.import_undo(actor=admin_user, job=job)

    existing.refresh_from_db()
    assert list(Product.objects.values_list("sku", flat=True)) == ["A-1"]
    assert (existing.name, existing.price, existing.unit) == ("Старое имя", Decimal("0"), "шт")
    assert result["removed"] == 1


def test_undo_keeps_an_imported_product_that_is_on_a_deal_line_since(admin_user):
    job = run(
        admin_user,
        [
            HEADER,
            ["U-1", "Уже продан", "100", "20", "шт", "", ""],
            ["U-2", "Не продан", "5", "20", "шт", "", ""],
        ],
        dry_run=False,
    )
    sold = Product.objects.get(sku="U-1")
    documents.deal_items_set(actor=admin_user, deal=DealFactory(), items=[{"product": sold, "quantity": 2}])

    result = services.import_undo(actor=admin_user, job=job)

    assert (result["removed"], result["kept"]) == (1, 1)
    assert list(Product.objects.values_list("sku", flat=True)) == ["U-1"]
    assert DealItem.objects.get().product == sold


def test_the_sku_column_is_required_and_the_api_takes_products(admin_user, api_for):
    with pytest.raises(Exception, match="SKU"):
        run(admin_user, [["Наименование", "Цена"], ["Станок", "100"]], start=False)
    client = api_for(admin_user)
    data = files.csv_bytes([["SKU", "Name", "Price"], ["P-1", "Pump", "1 500,50"]])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/api/v1/imports",
            {"file": files.upload(data, "catalog.csv"), "kind": "products", "dry_run": "false"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    status = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert (status["kind"], status["status"], status["created"]) == ("products", "done", 1)
    assert Product.objects.get(sku="P-1").price == Decimal("1500.50")

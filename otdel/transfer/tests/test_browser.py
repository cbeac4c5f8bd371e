"""The mapping screen and the progress bar in a real Chromium."""

from __future__ import annotations

import threading
import time

import pytest
from playwright.sync_api import expect

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.crm.models import Deal
from otdel.transfer import services
from otdel.transfer.models import ImportJob
from otdel.transfer.tests import files

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SLOW = 15_000


class Held:
    """Stands in for the queue: the test decides when the worker runs."""

    def enqueue(self, *args, **kwargs):
        return None


def test_mapping_screen_then_the_progress_bar_fills_while_the_worker_runs(
    live_server, login_page, head, pipeline, department, settings, monkeypatch
):
    UserFactory(username="petrov", full_name="Петров Пётр", role=Role.SALES_MANAGER, department=department)
    from otdel.transfer import tasks

    monkeypatch.setattr(tasks, "import_run_task", Held())
    page = login_page(head)
    page.click('[data-testid="nav-settings"]')  # settings live under one menu
    page.click('[data-testid="nav-import"]')
    page.set_input_files(
        'input[name="file"]',
        files={"name": "amocrm.csv", "mimeType": "text/csv", "buffer": files.amo_deals()},
    )
    page.select_option('select[name="kind"]', "auto")
    page.select_option('select[name="pipeline"]', str(pipeline.pk))
    page.click('[data-testid="upload-form"] button[type="submit"]')

    table = page.locator('[data-testid="mapping-table"]')
    expect(table).to_be_visible(timeout=SLOW)
    expect(page.locator("text=recognized as amoCRM: deals")).to_be_visible()
    expect(page.locator('select[data-column="Название сделки"]')).to_have_value("title")
    expect(page.locator('select[data-column="Рабочий телефон (контакт)"]')).to_have_value("phone")
    preview = page.locator('[data-testid="preview-table"]')
    expect(preview).to_contain_text("+7 912 345-67-89, +7 916 123-45-67")
    expect(preview).to_contain_text("Основная воронка: Переговоры")

    # Change the mapping: the tags column is not imported; the lost stage goes to "Переговоры" instead.
    page.select_option('select[data-column="Теги"]', "")
    talks = str(pipeline.stages.get(name="Переговоры").pk)
    page.select_option('[data-testid="values-stage"] select[data-value="Закрыто и не реализовано"]', talks)
    page.click('[data-testid="refresh-preview"]')
    expect(page.locator('select[data-column="Теги"]')).to_have_value("", timeout=SLOW)
    expect(
        page.locator('[data-testid="values-stage"] select[data-value="Закрыто и не реализовано"]')
    ).to_have_value(talks)
    page.click('[data-testid="import-now"]')

    bar = page.locator('[data-testid="progress-bar"]')
    expect(bar).to_have_text("0%", timeout=SLOW)
    expect(page.locator('[data-testid="progress-text"]')).to_contain_text("Queued")

    job = ImportJob.objects.get()
    settings.OTDEL_IMPORT_BATCH = 1
    seen: list[int] = []

    def slow_batch(job):
        seen.append(job.done_rows)
        time.sleep(1.2)

    monkeypatch.setattr(services, "_after_batch", slow_batch)
    worker = threading.Thread(target=services.import_run, args=(job.pk,))
    worker.start()
    try:
        expect(bar).to_have_text("33%", timeout=SLOW)
        expect(page.locator('[data-testid="progress-text"]')).to_contain_text("1 of 3 rows")
        expect(page.locator('[data-testid="progress-text"]')).to_contain_text("rows/s")
        expect(bar).to_have_text("100%", timeout=SLOW)
        expect(page.locator('[data-testid="progress-text"]')).to_contain_text("Done", timeout=SLOW)
    finally:
        worker.join(timeout=30)
    expect(page.locator('[data-testid="import-counts"] [data-count="created"]')).to_have_text("3")
    expect(page.locator('[data-testid="undo"]')).to_be_visible()
    assert seen == [1, 2, 3]
    assert Deal.objects.filter(stage__name="Переговоры").count() == 2
    assert "опт" not in Deal.objects.get(title="Поставка станков").custom_fields.values()


def test_products_through_the_mapping_screen_dry_run_run_and_undo(live_server, login_page, head):
    from otdel.documents import services as documents
    from otdel.documents.models import Product

    documents.product_create(actor=head, sku="ST-1", name="Станок (старое имя)")
    catalog = files.csv_bytes(
        [
            ["Артикул", "Наименование", "Цена", "НДС", "Единица", "Описание", "Прочее"],
            ["ST-1", "Станок токарный", "1 234 567,89", "20%", "шт", "Большой", "x"],
            ["SV-2", "Монтаж", "1,234,567.89", "Без НДС", "усл", "", "y"],
            ["OLD-3", "Старый НДС", "100", "18%", "шт", "", "z"],
        ]
    )
    page = login_page(head)
    page.click('[data-testid="nav-settings"]')
    page.click('[data-testid="nav-import"]')
    page.set_input_files(
        'input[name="file"]', files={"name": "catalog.csv", "mimeType": "text/csv", "buffer": catalog}
    )
    page.select_option('select[name="kind"]', "products")
    page.click('[data-testid="upload-form"] button[type="submit"]')

    expect(page.locator('[data-testid="mapping-table"]')).to_be_visible(timeout=SLOW)
    for column, target in [
        ("Артикул", "sku"),
        ("Наименование", "product_name"),
        ("Цена", "price"),
        ("НДС", "vat_rate"),
        ("Единица", "unit"),
        ("Описание", ""),
    ]:
        expect(page.locator(f'select[data-column="{column}"]')).to_have_value(target)
    preview = page.locator('[data-testid="preview-table"]')
    expect(preview).to_contain_text("1\u00a0234\u00a0567,89")
    expect(preview).to_contain_text("No VAT")
    expect(preview).to_contain_text("Choose a VAT rate: 20, 10, 0 or none.")  # row 4, before any run
    expect(page.locator("text=When the SKU is already in the catalog")).to_be_visible()
    expect(page.locator('input[name="route_owners"]')).to_have_count(0)

    # Overwrite what the catalog has for a known SKU, import the valid rows, skip the bad one.
    page.select_option('select[name="dedupe"]', "overwrite")
    page.check('input[name="skip_invalid"]')
    page.click('[data-testid="dry-run"]')
    expect(page.locator('[data-testid="import-progress"]')).to_have_attribute(
        "data-status", "done", timeout=SLOW
    )
    counts = page.locator('[data-testid="import-counts"]')
    expect(counts.locator('[data-count="created"]')).to_have_text("1")
    expect(counts.locator('[data-count="updated"]')).to_have_text("1")
    expect(counts.locator('[data-count="errors"]')).to_have_text("1")
    expect(page.locator('[data-testid="error-table"]')).to_contain_text("НДС")
    assert Product.objects.count() == 1

    page.click('[data-testid="run-for-real"]')
    expect(page.locator('[data-testid="run-for-real"]')).to_have_count(0, timeout=SLOW)
    expect(page.locator('[data-testid="import-progress"]')).to_have_attribute(
        "data-status", "done", timeout=SLOW
    )
    expect(counts.locator('[data-count="created"]')).to_have_text("1")
    assert Product.objects.get(sku="ST-1").name == "Станок токарный"
    assert str(Product.objects.get(sku="SV-2").price) == "1234567.89"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-testid="undo"]')
    expect(page.locator('[data-testid="import-progress"]')).to_have_attribute(
        "data-status", "undone", timeout=SLOW
    )
    assert list(Product.objects.values_list("sku", "name")) == [("ST-1", "Станок (старое имя)")]

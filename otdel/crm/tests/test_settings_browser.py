"""The stage editor and custom fields in a real Chromium: add, drag, delete moving deals; a field on a
card and in a list filter."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.core.models import ObjectChange
from otdel.crm import services
from otdel.crm.models import CustomField, Deal, Stage
from otdel.crm.tests.test_browser import SLOW

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drag_above(page, handle, target) -> None:
    """Drag a stage by its handle to just above ``target`` (SortableJS in mouse-event mode)."""
    start, end = handle.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 10, steps=5)
    page.mouse.move(x, end["y"] + 4, steps=25)
    page.mouse.move(x, end["y"] + 2, steps=5)
    page.mouse.up()


def stage_names(pipeline):
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def test_head_of_sales_adds_drags_and_deletes_stages(live_server, login_page, head, manager, pipeline):
    first, second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[:2]
    deals = [services.deal_create(actor=manager, title=f"Поставка {n}", stage=first) for n in range(2)]
    page = login_page(head)
    page.goto(f"{live_server.url}/settings/pipelines/")
    rows = page.get_by_test_id("stage-row")
    expect(rows).to_have_count(5, timeout=SLOW)

    # Create: a new open stage lands before the won and lost ones.
    form = page.get_by_test_id("new-stage-form")
    form.get_by_label("Name").fill("Демонстрация")
    form.get_by_test_id("new-stage-add").click()
    expect(page.get_by_text("Stage “Демонстрация” added.")).to_be_visible(timeout=SLOW)
    assert stage_names(pipeline) == [
        "Новая",
        "Переговоры",
        "Счёт выставлен",
        "Демонстрация",
        "Успешно",
        "Проиграна",
    ]

    # Reorder by drag: "Демонстрация" above "Новая".
    demo_stage = Stage.objects.get(pipeline=pipeline, name="Демонстрация")
    demo = page.locator(f'.stage-row[data-stage-id="{demo_stage.pk}"]')
    with page.expect_response(lambda r: r.url.endswith("/reorder/")) as saved:
        drag_above(page, demo.get_by_test_id("stage-handle"), rows.first)
    assert saved.value.status == 200
    expect(page.get_by_test_id("stage-order-saved")).to_be_visible(timeout=SLOW)
    assert stage_names(pipeline)[0] == "Демонстрация"
    page.reload()
    expect(page.get_by_test_id("stage-row").first.locator("input[type=text]")).to_have_value(
        "Демонстрация", timeout=SLOW
    )

    # Delete "Новая" with its two deals, moving them to "Переговоры".
    row = page.locator(f'.stage-row[data-stage-id="{first.pk}"]')
    expect(row.get_by_test_id("stage-deals")).to_have_text("2 deals")
    row.get_by_test_id("stage-delete-toggle").click()
    row.get_by_test_id("stage-move-to").select_option(label="Переговоры")
    row.get_by_test_id("stage-delete").click()
    expect(page.get_by_text("Stage “Новая” deleted; 2 deals moved to “Переговоры”.")).to_be_visible(
        timeout=SLOW
    )
    assert not Stage.objects.filter(pk=first.pk).exists()
    assert set(Deal.objects.filter(stage=second).values_list("pk", flat=True)) == {d.pk for d in deals}
    assert ObjectChange.objects.filter(action="move", object_id__in=[d.pk for d in deals]).count() == 2

    # The board shows the new order.
    page.goto(f"{live_server.url}/deals/")
    headers = page.locator(".kanban-column-header .fw-semibold")
    expect(headers.first).to_have_text("Демонстрация", timeout=SLOW)


def test_salesperson_cannot_open_the_editor(live_server, login_page, manager, pipeline):
    page = login_page(manager)
    response = page.goto(f"{live_server.url}/settings/pipelines/")
    assert response is not None and response.status == 403


def test_custom_field_on_a_card_and_in_a_list_filter(live_server, login_page, admin_user, manager, pipeline):
    services.deal_create(actor=manager, title="Станки в Казань")
    other = services.deal_create(actor=manager, title="Станки в Москву")
    page = login_page(admin_user)

    # Define the field in the settings.
    page.goto(f"{live_server.url}/settings/custom-fields/")
    form = page.get_by_test_id("custom-field-form")
    form.get_by_label("Records").select_option("deal")
    form.get_by_label("Name").fill("Регион доставки")
    form.get_by_label("Code").fill("region")
    form.get_by_label("Type").select_option("list")
    form.get_by_label("Options").fill("Москва\nКазань")
    form.get_by_label("Column in the list").check()
    form.get_by_test_id("custom-field-add").click()
    expect(page.get_by_test_id("custom-fields-deal")).to_contain_text("Регион доставки", timeout=SLOW)
    field = CustomField.objects.get(code="region")
    assert field.options == ["Москва", "Казань"] and field.in_list

    # Set it on a card.
    deal = Deal.objects.get(title="Станки в Казань")
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    block = page.get_by_test_id("custom-fields")
    expect(block.locator('[data-custom="region"]')).to_have_text("—", timeout=SLOW)
    block.get_by_test_id("custom-fields-edit").click()
    block.get_by_label("Регион доставки").select_option("Казань")
    block.get_by_test_id("custom-fields-save").click()
    expect(page.get_by_test_id("custom-fields").locator('[data-custom="region"]')).to_have_text(
        "Казань", timeout=SLOW
    )
    assert Deal.objects.get(pk=deal.pk).custom == {"region": "Казань"}
    services.deal_update(actor=manager, deal=other, custom={"region": "Москва"})

    # Filter the list by it; the column shows the value.
    page.goto(f"{live_server.url}/deals/list/")
    filters = page.get_by_test_id("filter-form")
    filters.get_by_label("Регион доставки").select_option("Казань")
    filters.get_by_role("button", name="Filter").click()
    table = page.get_by_test_id("deal-table")
    expect(table.locator("tbody tr")).to_have_count(1, timeout=SLOW)
    expect(table).to_contain_text("Станки в Казань")
    expect(table.locator('td[data-custom="region"]')).to_have_text("Казань")

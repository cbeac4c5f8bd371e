"""The first administrator on an empty database lands on the setup checklist; the top bar fits 1440 px
with every setting under one menu; the favicon is served (a real Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.crm.tests.factories import PipelineFactory
from otdel.routing import services as routing_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def state(page, key: str) -> str:
    return page.get_by_test_id(f"setup-step-{key}").get_attribute("data-done")


def test_first_admin_gets_the_checklist_and_routing_turns_done(live_server, login_page, admin_user, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    login_page(admin_user)
    assert page.url.endswith("/setup/")  # an empty database: the checklist, not an empty kanban
    expect(page.get_by_test_id("setup-checklist")).to_be_visible()
    warning = page.get_by_test_id("setup-fallback-warning")
    expect(warning).to_contain_text("go to the fallback person")
    for key in (
        "company",
        "users",
        "pipeline",
        "queue",
        "default_queue",
        "non_target",
        "pbx",
        "mailbox",
        "telegram",
        "form",
    ):
        assert state(page, key) == "0", key
    page.get_by_test_id("setup-step-default_queue").get_by_role("link").click()
    expect(page.locator("form select[name=default_queue]")).to_have_count(1)  # where it is set

    # The department is set up meanwhile: people, a pipeline, a queue as the default.
    office = UserFactory(username="office", role=Role.OFFICE_MANAGER)
    sellers = [UserFactory(username=f"m{n}", role=Role.SALES_MANAGER) for n in range(2)]
    PipelineFactory(name="Продажи")
    routing_services.queue_create(actor=admin_user, code="sales", name="Продажи", members=sellers)
    routing_services.routing_settings_update(
        actor=admin_user, default_queue="sales", non_target_destination={"user": office.pk}
    )
    page.goto(f"{live_server.url}/setup/")
    for key in ("users", "pipeline", "queue", "default_queue", "non_target"):
        assert state(page, key) == "1", key
    assert state(page, "pbx") == "0"
    expect(page.get_by_test_id("setup-fallback-warning")).to_have_count(0)
    expect(page.get_by_test_id("setup-progress")).to_contain_text("Done: 5 of 10")


def test_the_admin_top_bar_fits_1440_px_with_settings_under_one_menu(
    live_server, login_page, admin_user, page
):
    admin_user.full_name = "Константинопольский Алексей Викторович"
    admin_user.language = "ru"
    admin_user.save()
    page.set_viewport_size({"width": 1440, "height": 900})
    login_page(admin_user)
    nav = page.locator("nav.navbar")
    height = nav.evaluate("n => n.getBoundingClientRect().height")
    assert height < 70, height  # one line, not wrapped
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    assert page.locator("nav.navbar .navbar-nav.me-auto > li").count() <= 12
    page.get_by_test_id("nav-settings").click()
    for item in (
        "nav-users",
        "nav-channels",
        "nav-privacy",
        "nav-status",
        "nav-api",
        "nav-automation",
        "nav-import",
    ):
        expect(page.get_by_test_id(item)).to_be_visible()
    page.get_by_test_id("nav-settings-all").click()
    expect(page.get_by_test_id("settings-index")).to_be_visible()
    assert page.get_by_test_id("settings-index").get_by_role("link").count() >= 15

    icon = page.evaluate("[...document.querySelectorAll('link[rel=icon]')].map(l => l.href)")
    assert any(href.endswith(".svg") for href in icon) and any(href.endswith(".ico") for href in icon)
    for href in icon:
        assert page.request.get(href).status == 200
    response = page.request.get(f"{live_server.url}/favicon.ico")
    assert response.status == 200 and response.headers["content-type"] in (
        "image/x-icon",
        "image/vnd.microsoft.icon",
    )

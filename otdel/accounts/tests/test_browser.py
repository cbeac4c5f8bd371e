"""Signing in and switching the interface language, driven through a real Chromium."""

import pytest
from playwright.sync_api import expect

from otdel.accounts.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_through_the_form_shows_the_users_name_in_the_navbar(live_server, page, manager):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.get_by_test_id("login-error")).to_be_visible()

    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("user-menu")).to_contain_text(manager.full_name)


def test_switching_language_on_the_profile_shows_russian_after_reload(live_server, login_page, manager):
    page = login_page(manager)
    page.goto(f"{live_server.url}/profile/")
    navbar = page.locator("nav.navbar")
    expect(navbar).to_contain_text("Contacts")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.select_option("select[name=language]", "ru")
    page.get_by_role("button", name="Save language").click()
    page.reload()

    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(navbar).to_contain_text("Контакты")
    expect(navbar).to_contain_text("Сделки")
    expect(page.get_by_test_id("profile-role")).to_have_text("Менеджер по продажам")
    manager.refresh_from_db()
    assert manager.language == "ru"

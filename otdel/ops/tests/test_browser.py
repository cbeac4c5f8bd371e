"""An administrator opens System status from the menu and backs up with one click, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from otdel.ops.models import Backup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000  # a backup runs inside the request in tests (tasks run inline)


def test_admin_backs_up_from_the_status_page(
    live_server, login_page, admin_user, data_dir, settings, tmp_path
):
    settings.OTDEL_BACKUP_DIR = str(tmp_path / "backups")
    page = login_page(admin_user)
    page.get_by_test_id("nav-settings").click()  # settings live under one menu
    page.get_by_test_id("nav-status").click()
    expect(page.get_by_test_id("last-backup")).to_contain_text("No backup has been made yet", timeout=SLOW)
    expect(page.locator('[data-check="database"][data-ok="1"]')).to_have_count(1)

    page.get_by_test_id("backup-start").click()
    expect(page.locator(".alert-success")).to_contain_text("The backup has been started", timeout=SLOW)
    expect(page.get_by_test_id("last-backup")).to_contain_text("Last backup:")
    expect(page.get_by_test_id("backup-row")).to_have_count(1)
    assert Backup.objects.get().status == Backup.Status.OK

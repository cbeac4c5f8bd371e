"""An administrator's first sign-in with two-factor enrolment, then an integration token made and
revoked, driven through a real Chromium."""

import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from rest_framework.test import APIClient

from otdel.accounts.models import ApiToken
from otdel.accounts.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_enrols_an_authenticator_then_makes_and_revokes_a_token(
    live_server, page, admin_user, settings
):
    settings.OTDEL_ADMIN_TWO_FACTOR = True
    page.goto(f"{live_server.url}/login/?next=/settings/integration-tokens/")
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_test_id("recovery-codes")).to_contain_text("-")
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(re.compile(r".*/settings/integration-tokens/$"))

    page.fill("input[name=name]", "Asterisk")
    page.get_by_label("Telephony: call events and live routing").check()
    page.get_by_role("button", name="Make a token").click()
    secret = page.get_by_test_id("token-secret-value").inner_text().strip()
    assert secret.startswith("otd_")
    pbx = APIClient()
    pbx.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert pbx.get("/api/v1/telephony/route", {"caller": "1"}).status_code == 200

    token = ApiToken.objects.get(kind="integration")
    page.get_by_test_id(f"token-revoke-{token.pk}").click()
    expect(page.get_by_test_id(f"token-row-{token.pk}")).to_contain_text("revoked")
    assert pbx.get("/api/v1/telephony/route", {"caller": "1"}).status_code == 401

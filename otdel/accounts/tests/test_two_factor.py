"""Two-factor sign-in of administrators: enrolment with a QR/secret, a code per session, recovery
codes, the API's token exchange, reset."""

import re

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from otdel.accounts.models import RecoveryCode, Role
from otdel.accounts.tests.factories import UserFactory

PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.OTDEL_ADMIN_TWO_FACTOR = True


@pytest.fixture
def admin(db):
    user = UserFactory(username="boss", role=Role.ADMIN)
    user.set_password(PASSWORD)
    user.save()
    return user


def _code(device, shift=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + shift * device.step
    return f"{totp.token():06d}"


def _unthrottle(device):
    """Forget earlier wrong tries (django-otp refuses for 1, 2, 4... seconds after each)."""
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()


def _sign_in(client, username="boss"):
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def _enrol(client, admin):
    client.get("/login/two-factor/setup/")
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    _unthrottle(device)
    response = client.post("/login/two-factor/setup/", {"code": _code(device)})
    assert response.status_code == 200
    return device, response.context["codes"]


def test_an_administrator_must_enrol_before_anything_else(client, admin):
    _sign_in(client)
    response = client.get("/settings/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/two-factor/setup/")
    api = client.get("/api/v1/users")
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"
    page = client.get("/login/two-factor/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html  # the QR code, inline
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    import base64

    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    # A wrong code turns nothing on.
    wrong = client.post(
        "/login/two-factor/setup/", {"code": "000000" if _code(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "code" in wrong.context["form"].errors
    assert not TOTPDevice.objects.filter(user=admin, confirmed=True).exists()
    device, codes = _enrol(client, admin)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert RecoveryCode.objects.filter(user=admin).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=[c.replace("-", "") for c in codes]).exists()
    assert client.get("/settings/users/").status_code == 200  # this session is verified now


def test_after_enrolment_each_sign_in_asks_for_a_code(client, admin):
    _sign_in(client)
    device, _codes = _enrol(client, admin)
    client.logout()
    _sign_in(client)
    response = client.get("/settings/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/two-factor/?next=")
    bad = client.post("/login/two-factor/", {"code": "12", "next": "/settings/users/"})
    assert bad.status_code == 200 and bad.context["form"].errors
    _unthrottle(device)
    good = client.post("/login/two-factor/", {"code": _code(device, shift=1), "next": "/settings/users/"})
    assert good.status_code == 302 and good["Location"] == "/settings/users/"
    assert client.get("/settings/users/").status_code == 200


def test_a_code_is_not_accepted_twice_and_an_outside_next_is_ignored(client, admin):
    _sign_in(client)
    device, _codes = _enrol(client, admin)
    used = _code(device)  # the enrolment already used the current step
    client.logout()
    _sign_in(client)
    assert client.post("/login/two-factor/", {"code": used}).status_code == 200
    _unthrottle(device)
    response = client.post(
        "/login/two-factor/", {"code": _code(device, shift=1), "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_recovery_code_signs_in_once(client, admin):
    _sign_in(client)
    _device, codes = _enrol(client, admin)
    client.logout()
    _sign_in(client)
    assert client.post("/login/two-factor/", {"code": codes[0].upper()}).status_code == 302
    client.logout()
    _sign_in(client)
    assert client.post("/login/two-factor/", {"code": codes[0]}).status_code == 200
    assert RecoveryCode.objects.filter(user=admin, used_at__isnull=True).count() == 9


def test_repeated_wrong_codes_are_throttled(client, admin):
    _sign_in(client)
    device, _codes = _enrol(client, admin)
    client.logout()
    _sign_in(client)
    for _n in range(3):
        client.post("/login/two-factor/", {"code": "abcde-fghij"})
    # Even the right code is refused while throttled.
    assert client.post("/login/two-factor/", {"code": _code(device, shift=1)}).status_code == 200


def test_other_roles_are_not_asked(client, manager):
    manager.set_password(PASSWORD)
    manager.save()
    _sign_in(client, username=manager.username)
    assert client.get("/profile/").status_code == 200
    assert client.get("/login/two-factor/setup/").status_code == 404


def test_the_api_token_needs_the_code_for_administrators(client, admin):
    api = APIClient()
    refused = api.post("/api/v1/auth/token", {"username": "boss", "password": PASSWORD}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "two_factor_setup_required"
    _sign_in(client)
    device, _codes = _enrol(client, admin)
    missing = api.post("/api/v1/auth/token", {"username": "boss", "password": PASSWORD}, format="json")
    assert missing.status_code == 400 and "otp" in missing.json()["errors"]
    _unthrottle(device)
    ok = api.post(
        "/api/v1/auth/token",
        {"username": "boss", "password": PASSWORD, "otp": _code(device, shift=1)},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["token"]


def test_reset_by_another_administrator_and_by_command(client, admin):
    _sign_in(client)
    _enrol(client, admin)
    other = UserFactory(username="other", role=Role.ADMIN)
    TOTPDevice.objects.create(user=other, confirmed=True)
    assert client.get(f"/settings/users/{other.pk}/two-factor/reset/").status_code == 405
    assert client.post(f"/settings/users/{other.pk}/two-factor/reset/").status_code == 302
    assert not TOTPDevice.objects.filter(user=other).exists()
    call_command("two_factor_reset", "boss")
    assert not TOTPDevice.objects.filter(user=admin).exists()
    assert not RecoveryCode.objects.filter(user=admin).exists()


def test_turned_off_by_the_setting(client, admin, settings):
    settings.OTDEL_ADMIN_TWO_FACTOR = False
    _sign_in(client)
    assert client.get("/settings/users/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_no_live_stream_before_the_second_factor(client, admin):
    """Calls and notifications name clients: a password alone opens no stream, on either process."""
    from concurrent.futures import ThreadPoolExecutor

    from otdel.live.asgi import _signed_in as signed_in

    def _signed_in(session_key, resume):  # on its own thread, as the live process does
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(signed_in, session_key, resume).result()

    _sign_in(client)
    setup = client.get("/login/two-factor/setup/")
    assert setup.status_code == 200 and "live/live.js" not in setup.content.decode()
    assert client.get("/live/stream").status_code == 401
    session_key = client.cookies["sessionid"].value
    assert _signed_in(session_key, "0")[0] is None

    _enrol(client, admin)
    stream = client.get("/live/stream")
    assert stream.status_code == 200 and stream["Content-Type"].startswith("text/event-stream")
    stream.close()
    assert _signed_in(client.cookies["sessionid"].value, "0")[0] == admin.pk
    assert "live/live.js" in client.get("/settings/").content.decode()


def test_an_administrator_with_a_token_reads_the_api_docs(admin):
    """The token signs the request in (DRF replaces the request's user, which django-otp never saw):
    the page's navigation must not ask that user for a session second factor (it answered 500)."""
    from otdel.accounts.services import user_token_issue

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token_issue(user=admin)}")
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "live/live.js" not in response.content.decode()  # no session: no live stream either


@pytest.mark.parametrize("next_url", ["-1", "logout", "2026-13-45", "javascript:alert(1)", "//evil.example/"])
def test_a_next_that_is_not_an_address_here_goes_to_the_start(client, admin, next_url):
    """A bare word was taken for a view name by ``redirect()``: a 500 for “-1”."""
    _sign_in(client)
    _enrol(client, admin)
    response = client.get("/login/two-factor/", {"next": next_url})
    assert response.status_code == 302 and response["Location"] == "/"

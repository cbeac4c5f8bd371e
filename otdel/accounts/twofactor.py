"""Two-factor sign-in for administrators: a TOTP code (django-otp) after the password, per session.

An administrator who has not enrolled is sent to enrolment (a QR code or the secret for any
authenticator app, a first code to confirm, ten one-time recovery codes shown once); one who has is
asked for a code after the password. Until then every page answers with that redirect, and the API
used through the browser session with ``403 two_factor_required``. Tokens are not sessions: an
administrator's personal token comes from ``POST /auth/token`` with the code (``otp``), integration
tokens are made on a verified session. ``OTDEL_ADMIN_TWO_FACTOR=0`` turns all of it off.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from urllib.parse import quote

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from otdel.accounts.models import RecoveryCode, User
from otdel.accounts.permissions import is_admin

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
# Paths an administrator reaches before the second factor: the steps themselves, leaving, the
# language switch, files of the page.
EXEMPT_PREFIXES = ("/login/", "/logout/", "/i18n/", "/static/", "/healthz", "/live/")  # live: its own 401


def required_for(user: object) -> bool:
    return bool(getattr(settings, "OTDEL_ADMIN_TWO_FACTOR", True)) and is_admin(user)


def second_factor_pending(user: object, session: object = None) -> bool:
    """An administrator signed in with the password whose session has no second factor yet: such a
    session reaches the code and enrolment pages only (no live stream either).

    ``session`` is for callers outside the middleware stack (the live process), where
    ``user.is_verified`` is not set: the session's device is checked as django-otp's middleware does.
    """
    if not required_for(user):
        return False
    if session is None:
        is_verified = getattr(user, "is_verified", None)
        # Set by django-otp on the session's user; a user an API token signed in (DRF replaces the
        # request's user, e.g. on the API docs page) has no session second factor: treated as pending.
        return is_verified is None or not is_verified()
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)  # type: ignore[attr-defined]
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is None or device.user_id != getattr(user, "pk", None) or not device.confirmed


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def enrolment_device(user: User) -> TOTPDevice:
    """The authenticator being set up (one unconfirmed device, kept across page reloads)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG (no image request, nothing for the CSP to allow)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, border=2))


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").replace(" ", "").encode()).hexdigest()


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Ten new one-time codes (the old ones stop working); returned once, stored as hashes."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_hash(code)) for code in codes])
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def code_verify(*, user: User, code: str) -> TOTPDevice | None:
    """The user's confirmed device if ``code`` is its current TOTP code or an unused recovery code.

    Wrong codes slow further tries down (django-otp's throttling: 1, 2, 4... seconds refused).
    """
    device = confirmed_device(user)
    if device is None:
        return None
    code = (code or "").strip().replace(" ", "")
    if not code or len(code) > 32:
        device.throttle_increment()
        return None
    if code.isdigit():
        return device if device.verify_token(code) else None
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        return None
    used = RecoveryCode.objects.filter(user=user, code_hash=_hash(code), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if used:
        device.throttle_reset()
        return device
    device.throttle_increment()
    return None


@transaction.atomic
def enrolment_confirm(*, request: HttpRequest, user: User, code: str) -> list[str] | None:
    """Confirm the device being set up with its first code; None when the code is wrong."""
    device = enrolment_device(user)
    if not (code or "").strip().isdigit() or not device.verify_token(code.strip()):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return recovery_codes_issue(user=user)


@transaction.atomic
def two_factor_reset(*, user: User) -> None:
    """Forget the authenticator and recovery codes (a lost phone): the next sign-in enrols again."""
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()


class AdminTwoFactorMiddleware:
    """Sends an administrator whose session has no second factor yet to the code or enrolment page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and second_factor_pending(user)
            and not request.path_info.startswith(EXEMPT_PREFIXES)
        ):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {
                        "errors": {
                            "__all__": [_("Confirm the sign-in with a code from your authenticator.")]
                        },
                        "code": "two_factor_required",
                    },
                    status=403,
                )
            target = "two_factor_verify" if confirmed_device(user) else "two_factor_setup"  # type: ignore[arg-type]
            return redirect(f"{reverse(target)}?next={quote(request.get_full_path())}")
        return self.get_response(request)

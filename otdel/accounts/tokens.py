"""API tokens: hashed at rest, expiring, revocable; integration tokens limited by scopes.

The secret is shown once when a token is made; the database keeps its SHA-256 (a secret of 32
random bytes needs no salt or slow hash: nobody can guess it, the hash only keeps a stolen dump from
being a list of working keys). ``Authorization: Token <secret>`` is checked by
``ApiTokenAuthentication`` on every API path, and by ``token_check`` for the PBX shortcuts that
answer before DRF (the live route, call events).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from otdel.accounts.models import ApiToken, Role, TokenScope, User
from otdel.core.net import client_ip

KEYWORD = "Token"
SECRET_PREFIX = "otd_"
# How often "last used" is written for a token in steady use (a PBX sends several requests a second).
LAST_USED_EVERY = datetime.timedelta(minutes=1)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Paths under /api/v1/ each scope opens (any method), and the one that opens every safe method.
SCOPE_PATHS: dict[str, tuple[str, ...]] = {
    TokenScope.TELEPHONY: ("telephony/events", "telephony/route"),
    TokenScope.FORMS: ("forms",),
    TokenScope.LEADS: ("contacts", "leads"),
    TokenScope.READ: (),
}
API_ROOT = "/api/v1/"


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def user_token_lifetime() -> datetime.timedelta | None:
    """How long a token from ``POST /auth/token`` lives (``OTDEL_API_TOKEN_DAYS``; 0: for ever)."""
    days = float(getattr(settings, "OTDEL_API_TOKEN_DAYS", 30))
    return datetime.timedelta(days=days) if days > 0 else None


def scope_allows(scopes: list[str], method: str, path: str) -> bool:
    """May a token with ``scopes`` make this request? (``path`` is the request's path_info.)"""
    if not path.startswith(API_ROOT):
        return False
    rest = path[len(API_ROOT) :]
    for scope in scopes:
        if scope == TokenScope.READ and method in SAFE_METHODS:
            return True
        for prefix in SCOPE_PATHS.get(scope, ()):
            if rest == prefix or rest.startswith(prefix + "/"):
                return True
    return False


@dataclass(frozen=True)
class TokenCheck:
    """A token found valid: whom it acts as and what it may reach (kept in the route's memory)."""

    user: User
    token: ApiToken


class TokenScopeDenied(exceptions.PermissionDenied):
    default_code = "token_scope"


def lookup(secret: str) -> TokenCheck | None:
    """The live token with this secret, its user active; None for anything else."""
    if not secret or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None
    return TokenCheck(user=token.user, token=token)


def token_is_live(token: ApiToken) -> bool:
    """Not revoked, not expired (whether its user is active is the user's matter)."""
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or token.expires_at > timezone.now()


def note_use(token: ApiToken, request: HttpRequest | None) -> None:
    """Write "last used" (at most once a minute per token; no signals, so no cache is flushed)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    ip = client_ip(request) if request is not None else None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip or None)
    token.last_used_at = now
    token.last_used_ip = ip or None


def header_secret(request: HttpRequest) -> str | None:
    """The secret of an ``Authorization: Token <secret>`` header, None without one."""
    keyword, _space, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if keyword.lower() != KEYWORD.lower() or not secret or " " in secret.strip():
        return None
    return secret.strip()


def expires_for(user: User) -> datetime.datetime | None:
    """When a new personal token of ``user`` expires: technical accounts' (PBXs) never do."""
    lifetime = user_token_lifetime()
    if lifetime is None or user.role == Role.INTEGRATION:
        return None
    return timezone.now() + lifetime


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Token <secret>`` against the hashed tokens; scopes of integration tokens."""

    keyword = KEYWORD

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            secret = auth[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        found = self.check(secret)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        token = found.token
        if token.kind == ApiToken.Kind.INTEGRATION and not scope_allows(
            list(token.scopes or []), request.method or "GET", request._request.path_info
        ):
            raise TokenScopeDenied(
                _("This integration token may not be used here; its scopes: %(scopes)s.")
                % {"scopes": ", ".join(token.scopes or []) or "—"}
            )
        note_use(token, request._request)
        return found.user, token

    def check(self, secret: str) -> TokenCheck | None:
        """Find the token; subclasses may remember the answer."""
        return lookup(secret)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword

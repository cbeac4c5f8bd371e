"""Token authentication for the live route endpoint, with a few seconds of in-process memory.

A PBX asks for a route on every ringing call with the same token; looking the token up each time
would double the endpoint's database work. A known token is remembered for the routing cache TTL
(``OTDEL_ROUTING_CACHE_SECONDS``) and forgotten at once when a token or user changes in this
process; other processes notice within the TTL. Unknown tokens are never remembered, so a wrong
token is always checked against the database and refused with 401.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from otdel.accounts.models import User
from otdel.accounts.permissions import may_integrate
from otdel.routing.snapshot import cache_seconds

_lock = threading.Lock()
_known: dict[str, tuple[User, Token, float]] = {}
# Bounds the memory a flood of distinct valid tokens could take; a PBX uses one or two.
_MAX_TOKENS = 256


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` like DRF's, answered from memory for a known key."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        ttl = cache_seconds()
        hit = _known.get(key) if ttl > 0 else None
        if hit is not None and time.monotonic() < hit[2]:
            return hit[0], hit[1]
        user, token = super().authenticate_credentials(key)
        # Remember only what was read outside a transaction: committed rows, never rolled-back ones.
        if ttl > 0 and not connection.in_atomic_block:
            with _lock:
                if len(_known) >= _MAX_TOKENS:
                    _known.clear()
                _known[key] = (user, token, time.monotonic() + ttl)
        return user, token

    def integration_token(self, request: HttpRequest) -> bool:
        """Does a plain Django request carry the token of a user ``may_integrate`` lets in?

        For the shortcuts that answer a PBX before DRF (the live route, call events); False means
        "let DRF answer", with its usual 401/403 for a missing, wrong or revoked token.
        """
        keyword, _space, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword.lower() != self.keyword.lower() or not key or " " in key:
            return False
        try:
            user, _token = self.authenticate_credentials(key)
        except AuthenticationFailed:
            return False
        return may_integrate(user)


def _forget() -> None:
    with _lock:
        _known.clear()


def forget_tokens(**kwargs: Any) -> None:
    """Forget every remembered token now and again at commit (see ``routing_snapshot_clear``)."""
    _forget()
    if connection.in_atomic_block:
        transaction.on_commit(_forget)


for _model in (Token, User):
    post_save.connect(forget_tokens, sender=_model, dispatch_uid=f"routing-token-save-{_model.__name__}")
    post_delete.connect(forget_tokens, sender=_model, dispatch_uid=f"routing-token-delete-{_model.__name__}")

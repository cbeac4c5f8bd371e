"""Token authentication for the live route endpoint, with a few seconds of in-process memory.

A PBX asks for a route on every ringing call with the same token; looking the token up each time
would double the endpoint's database work. A known token is remembered for the routing cache TTL
(``OTDEL_ROUTING_CACHE_SECONDS``) and forgotten at once when a token or user changes in this
process; other processes notice within the TTL. Unknown tokens are never remembered, so a wrong
token is always checked against the database and refused with 401. An expired token is never
answered from memory.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone

from otdel.accounts.models import ApiToken, User
from otdel.accounts.permissions import may_integrate
from otdel.accounts.tokens import (
    ApiTokenAuthentication,
    TokenCheck,
    header_secret,
    lookup,
    note_use,
    scope_allows,
)
from otdel.routing.snapshot import cache_seconds

_lock = threading.Lock()
_known: dict[str, tuple[TokenCheck, float]] = {}
# Bounds the memory a flood of distinct valid tokens could take; a PBX uses one or two.
_MAX_TOKENS = 256


class CachedTokenAuthentication(ApiTokenAuthentication):
    """``Authorization: Token <secret>`` like every API path's, answered from memory for a known key."""

    def check(self, secret: str) -> TokenCheck | None:
        ttl = cache_seconds()
        hit = _known.get(secret) if ttl > 0 else None
        if hit is not None and time.monotonic() < hit[1]:
            expires = hit[0].token.expires_at
            if expires is None or expires > timezone.now():
                return hit[0]
        found = lookup(secret)
        # Remember only what was read outside a transaction: committed rows, never rolled-back ones.
        if found is not None and ttl > 0 and not connection.in_atomic_block:
            with _lock:
                if len(_known) >= _MAX_TOKENS:
                    _known.clear()
                _known[secret] = (found, time.monotonic() + ttl)
        return found

    def integration_token(self, request: HttpRequest) -> bool:
        """Does a plain Django request carry a token ``may_integrate`` lets in, with the telephony scope?

        For the shortcuts that answer a PBX before DRF (the live route, call events); False means
        "let DRF answer", with its usual 401/403 for a missing, wrong, expired or revoked token.
        """
        secret = header_secret(request)
        if secret is None:
            return False
        found = self.check(secret)
        if found is None or not may_integrate(found.user):
            return False
        token = found.token
        if token.kind == ApiToken.Kind.INTEGRATION and not scope_allows(
            list(token.scopes or []), request.method or "GET", request.path_info
        ):
            return False
        note_use(token, request)
        return True


def _forget() -> None:
    with _lock:
        _known.clear()


def forget_tokens(**kwargs: Any) -> None:
    """Forget every remembered token now and again at commit (see ``routing_snapshot_clear``)."""
    _forget()
    if connection.in_atomic_block:
        transaction.on_commit(_forget)


for _model in (ApiToken, User):
    post_save.connect(forget_tokens, sender=_model, dispatch_uid=f"routing-token-save-{_model.__name__}")
    post_delete.connect(forget_tokens, sender=_model, dispatch_uid=f"routing-token-delete-{_model.__name__}")

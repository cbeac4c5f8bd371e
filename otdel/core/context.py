"""Who is acting right now: set by middleware, the API and services; read by the change log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_actor: ContextVar[Any] = ContextVar("otdel_actor", default=None)


def current_actor() -> Any:
    """The user (or None for the system) whose action is being recorded."""
    actor = _actor.get()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        return None
    return actor


@contextlib.contextmanager
def acting_as(user: Any) -> Iterator[None]:
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(user: Any) -> None:
    _actor.set(user)

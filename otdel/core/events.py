"""A small in-process domain event bus: handlers run after the transaction commits."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str) -> Callable[[Handler], Handler]:
    """Register a handler: ``@subscribe("deal.stage_changed")``."""

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[event]:
            _handlers[event].append(handler)
        return handler

    return register


def emit(event: str, **payload: Any) -> None:
    """Deliver the event to its handlers once the current transaction commits (never before)."""

    def deliver() -> None:
        for handler in list(_handlers.get(event, [])):
            try:
                handler(**payload)
            except Exception:  # a failing subscriber must not break the caller's committed work
                logger.exception("event handler %s failed for %s", handler, event)

    transaction.on_commit(deliver)

"""Receiving provider deliveries: keep the raw body, validate, process in the background.

Adapters register a parser: (raw payload (dict), provider string of the delivery, e.g.
``zadarma:main``) -> list of InboundEvent; it raises
``IntakeError`` for a payload it cannot accept (the view answers 400 and the body stays in the log).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from otdel.comms.models import IntakeLog
from otdel.comms.services import InboundEvent, ingest_event

logger = logging.getLogger(__name__)

Parser = Callable[[dict[str, Any], str], list[InboundEvent]]
_parsers: dict[str, Parser] = {}


class IntakeError(Exception):
    """The payload is not something we can accept; ``errors`` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]] | str, code: str = "invalid_payload") -> None:
        self.errors = errors if isinstance(errors, dict) else {"__all__": [errors]}
        self.code = code
        super().__init__(str(self.errors))


def register_parser(provider: str) -> Callable[[Parser], Parser]:
    def register(parser: Parser) -> Parser:
        _parsers[provider] = parser
        return parser

    return register


def parser_for(provider: str) -> Parser:
    return _parsers[provider.split(":", 1)[0]]


def request_meta(request: HttpRequest) -> dict[str, Any]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("authorization", "cookie")}
    return {"headers": headers, "remote_addr": request.META.get("REMOTE_ADDR") or None}


def intake_reject(*, provider: str, body: str, error: str, meta: dict[str, Any]) -> IntakeLog:
    """Keep a refused delivery for the admin to inspect; nothing else is written."""
    logger.warning("rejected %s delivery: %s", provider, error)
    return IntakeLog.objects.create(
        provider=provider, status=IntakeLog.Status.REJECTED, error=error[:5000], body=body, **meta
    )


def intake_accept(*, provider: str, body: str, payload: dict[str, Any], meta: dict[str, Any]) -> IntakeLog:
    """Validate ``payload`` now (IntakeError -> caller answers 400), store it, process it in the background."""
    parser_for(provider)(payload, provider)  # raises IntakeError before anything is stored
    with transaction.atomic():
        log = IntakeLog.objects.create(provider=provider, body=body, **meta)
        from otdel.comms.tasks import intake_process

        intake_process.enqueue(log.pk)
    return log


def intake_process_now(log: IntakeLog) -> None:
    """Parse and ingest a stored delivery; a failure is recorded on the log row and re-raised."""
    import json

    try:
        payload = json.loads(log.body) if log.body else {}
        events = parser_for(log.provider)(payload, log.provider)
        last = None
        for event in events:
            last = ingest_event(event).interaction
        IntakeLog.objects.filter(pk=log.pk).update(
            status=IntakeLog.Status.PROCESSED, interaction=last, error=""
        )
    except Exception:
        IntakeLog.objects.filter(pk=log.pk).update(
            status=IntakeLog.Status.FAILED, error=traceback.format_exc()[-5000:]
        )
        raise

"""Receiving provider deliveries: keep the raw body, validate, process in the background.

Adapters register a parser: (raw payload (dict), provider string of the delivery, e.g.
``zadarma:main``) -> list of InboundEvent; it raises
``IntakeError`` for a payload it cannot accept (the view answers 400 and the body stays in the log).

The intake log is the work queue. Accepting a delivery is one INSERT of a ``received`` row, nothing
else; background "drain" tasks (``comms.tasks.intake_drain``) take received rows oldest first and
process each in its own transaction:

- the row is locked while it is processed (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
  drains running side by side take different rows; SQLite serializes writers anyway), and its
  status moves to ``processed``/``failed`` in the same transaction as the timeline rows it makes.
  So a delivery is processed exactly once: a second drain skips a locked row and finds it done
  afterwards; a worker that dies mid-way rolls back, and the row is ``received`` again for the next
  drain.
- a process that accepts a delivery queues a drain to run ``DRAIN_DELAY`` seconds later, unless a
  drain it queued earlier has not become due yet (that one starts after this row was committed, so
  it will see it). Under load that is one task row per web process per ``DRAIN_DELAY``, not one
  per delivery. The scheduler also queues a drain every ``tasks.SWEEP_SECONDS``, which picks up whatever a
  crashed worker or a lost wake-up left behind.
- backends that cannot run a task later (the immediate backend of the tests) drain at once, inline.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn, cast

from django.core.cache import cache
from django.db import connection, connections, router, transaction
from django.db.models import Field
from django.db.models.sql.subqueries import InsertQuery
from django.http import HttpRequest
from django.utils import timezone

from otdel.comms.errors import CommsErrorCode
from otdel.comms.models import IntakeLog
from otdel.comms.services import InboundEvent, ingest_event
from otdel.comms.tasks import intake_drain
from otdel.core import jsonsafe
from otdel.core.exceptions import ApiError
from otdel.core.net import client_ip

logger = logging.getLogger(__name__)

Parser = Callable[[dict[str, Any], str], list[InboundEvent]]
_parsers: dict[str, Parser] = {}

# A drain queued by a web process runs this many seconds later: deliveries arriving meanwhile
# need no task row of their own.
DRAIN_DELAY = 1.0
# A queued drain counts as "not started yet" only until this long before it becomes due (clocks of
# the web and worker processes may differ a little; the periodic sweep covers larger skews).
DRAIN_MARGIN = 0.25


class IntakeError(ApiError):
    """The payload is not something we can accept (400); ``errors`` maps fields to messages."""

    def __init__(
        self, errors: dict[str, list[str]] | str, code: str = CommsErrorCode.INVALID_PAYLOAD
    ) -> None:
        super().__init__(errors, code)


def register_parser(provider: str) -> Callable[[Parser], Parser]:
    def register(parser: Parser) -> Parser:
        _parsers[provider] = parser
        return parser

    return register


def parser_for(provider: str) -> Parser:
    return _parsers[provider.split(":", 1)[0]]


def request_meta(request: HttpRequest) -> dict[str, Any]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("authorization", "cookie")}
    return {"headers": headers, "remote_addr": client_ip(request)}


Accepted = Callable[[list[InboundEvent]], None]
_accepted: list[Accepted] = []


def on_accepted(listener: Accepted) -> Accepted:
    """Have ``listener`` see the parsed events of every delivery stored for processing, at the door
    (the ringing call on screen can't wait for the drain)."""
    if listener not in _accepted:
        _accepted.append(listener)
    return listener


def intake_record(*, provider: str, status: str, body: str, error: str = "", **fields: Any) -> IntakeLog:
    """Write one intake-log row for a delivery handled outside the queue: the channels that process
    in the moment (web forms answer the visitor, mail is fetched by the poller) record what they did
    with it, as the queue records what it did with call events and messages."""
    return IntakeLog.objects.create(provider=provider, status=status, body=body, error=error, **fields)


def intake_reject(*, provider: str, body: str, error: str, meta: dict[str, Any]) -> IntakeLog:
    """Keep a refused delivery for the admin to inspect; nothing else is written."""
    logger.warning("rejected %s delivery: %s", provider, error)
    return intake_record(
        provider=provider, status=IntakeLog.Status.REJECTED, error=error[:5000], body=body, **meta
    )


# A delivery refused before its sender proved who it is (bad signature or secret) keeps this
# many bytes of its body and the SHA-256 of the whole: enough to see what it was, not a way to
# fill the disk.
UNAUTHENTICATED_PREFIX = 2048


def bounded_body(body: str, limit: int = UNAUTHENTICATED_PREFIX) -> str:
    """``body`` if it is short, else its first ``limit`` bytes and the size and SHA-256 of the whole."""
    raw = body.encode("utf-8", "surrogatepass")
    if len(raw) <= limit:
        return body
    prefix = raw[:limit].decode("utf-8", "ignore")
    return f"{prefix}\n… [{len(raw)} bytes in all, SHA-256 {hashlib.sha256(raw).hexdigest()}]"


def intake_refuse(
    *,
    provider: str,
    body: str,
    meta: dict[str, Any],
    error: ApiError,
    reason: str = "",
    authenticated: bool = True,
) -> NoReturn:
    """Keep the refused delivery in the log (with ``reason``, else the errors), then raise ``error``:
    the API's exception handler answers with it in the error shape.

    A delivery whose sender is not authenticated (``authenticated=False``) keeps only a bounded
    prefix of its body and a hash (``bounded_body``)."""
    logged = reason or json.dumps(error.errors, ensure_ascii=False)
    if authenticated:
        intake_reject(provider=provider, body=body, error=logged, meta=meta)
    elif _refusals_allowed(meta.get("remote_addr")):
        intake_reject(provider=provider, body=bounded_body(body), error=logged, meta=meta)
    raise error


# Unauthenticated refusals kept per address and minute; past it they are answered, not stored.
UNAUTHENTICATED_KEPT_PER_MINUTE = 30


def _refusals_allowed(address: str | None) -> bool:
    key = f"otdel:intake-refused:{address or '-'}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        return True
    return count <= UNAUTHENTICATED_KEPT_PER_MINUTE


def _check_storable(payload: Any) -> None:
    """Refuse at the door what would fail in the worker forever: NaN/Infinity, integers beyond
    64 bits, NUL or lone surrogates in text, absurd nesting (see ``otdel.core.jsonsafe``)."""
    try:
        jsonsafe.check(payload)
    except jsonsafe.UnsafeJSON as exc:
        raise IntakeError(str(exc), CommsErrorCode.INVALID_JSON) from exc


def intake_accept(
    *,
    provider: str,
    body: str,
    payload: dict[str, Any],
    meta: dict[str, Any],
    raw_body: str | None = None,
) -> IntakeLog:
    """Validate ``payload`` now, store it, process it in the background.

    A payload that cannot be used is kept as refused (``raw_body``, when the stored body is a
    rewritten one) and its IntakeError raised: the view answers 400 in the error shape.
    """
    try:
        _check_storable(payload)
        events = parser_for(provider)(payload, provider)  # raises IntakeError before anything is stored
    except IntakeError as exc:
        intake_refuse(provider=provider, body=body if raw_body is None else raw_body, meta=meta, error=exc)
    log = _store_received(IntakeLog(provider=provider, body=body, **meta))
    _drain_soon()
    for listener in _accepted:
        try:
            listener(events)
        except Exception:  # the delivery is stored and will be processed whatever a listener does
            logger.exception("intake listener %r failed", listener)
    return log


def intake_retryable(log: IntakeLog) -> bool:
    """A delivery that failed while processed, from a source whose deliveries the queue processes.

    (Refused deliveries were never valid; mailboxes and forms keep failures for the record and
    take the message or submission again themselves.)
    """
    return log.status == IntakeLog.Status.FAILED and log.provider.split(":", 1)[0] in _parsers


def intake_retry(log: IntakeLog, *, actor: Any = None) -> bool:
    """Put a failed delivery back in the queue, e.g. once its cause is fixed; False if it can't be.

    Processing is idempotent, so a delivery whose events partly exist by now does no harm.
    """
    if not intake_retryable(log):
        return False
    with transaction.atomic():
        updated = IntakeLog.objects.filter(pk=log.pk, status=IntakeLog.Status.FAILED).update(
            status=IntakeLog.Status.RECEIVED, error="", updated_at=timezone.now()
        )
        if updated:
            logger.info("intake %s (%s) queued again by %s", log.pk, log.provider, actor or "system")
            _drain_soon()
    log.refresh_from_db()
    return bool(updated)


def _drain_soon() -> None:
    """Get a received row processed: by a drain after commit, or right now on an inline backend."""
    if _drains_later():
        transaction.on_commit(intake_wake)  # outside a transaction: now
    else:
        # The row is visible to this connection already; an inline backend processes it now.
        _enqueue_drain()


# The INSERT of a received row, as the ORM writes it for IntakeLog.objects.create(), compiled
# once per database: building and compiling the query cost more CPU than sending it (a third of
# the view's time without the request cycle). No pre_save/post_save signals are sent for it
# (nothing listens for IntakeLog's).
_INSERT_FIELDS = ("created_at", "updated_at", "provider", "status", "error", "body", "headers", "remote_addr")
_insert_sql: dict[tuple[str, str], tuple[str, list[Field[Any, Any]], bool]] = {}


def _insert_statement(alias: str) -> tuple[str, list[Field[Any, Any]], bool]:
    conn = connections[alias]
    key = (alias, conn.vendor)
    if key not in _insert_sql:
        fields = [cast("Field[Any, Any]", IntakeLog._meta.get_field(name)) for name in _INSERT_FIELDS]
        query = InsertQuery(IntakeLog)
        query.insert_values(fields, [IntakeLog(provider="")])
        compiler = query.get_compiler(connection=conn)
        returning = bool(conn.features.can_return_columns_from_insert)
        compiler.returning_fields = [IntakeLog._meta.pk] if returning else None
        ((sql, params),) = compiler.as_sql()
        if len(params) != len(fields):  # a backend whose placeholders take more than the value
            raise NotImplementedError(f"intake INSERT on {conn.vendor}: {sql}")
        _insert_sql[key] = (sql, fields, returning)
    return _insert_sql[key]


def _store_received(log: IntakeLog) -> IntakeLog:
    """Save a new intake-log row (the same row ``log.save()`` would write) in one statement."""
    alias = router.db_for_write(IntakeLog)
    conn = connections[alias]
    sql, fields, returning = _insert_statement(alias)
    params = [field.get_db_prep_save(field.pre_save(log, True), connection=conn) for field in fields]
    with transaction.mark_for_rollback_on_error(alias), conn.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            log.pk = cursor.fetchone()[0]
        else:
            log.pk = conn.ops.last_insert_id(cursor, IntakeLog._meta.db_table, "id")
    log._state.adding = False
    log._state.db = alias
    return log


# --- waking a drain --------------------------------------------------------------------------

_wake_lock = threading.Lock()
_drain_due = 0.0  # time.monotonic() when the drain this process queued last becomes due


def _drains_later() -> bool:
    return bool(intake_drain.get_backend().supports_defer)


def _enqueue_drain(delay: float | None = None) -> None:
    if delay is None:
        intake_drain.enqueue()
    else:
        intake_drain.using(run_after=timezone.now() + datetime.timedelta(seconds=delay)).enqueue()


def intake_wake() -> None:
    """Make sure a drain starts after this moment (call after committing a received row)."""
    global _drain_due
    if time.monotonic() < _drain_due - DRAIN_MARGIN:
        return
    with _wake_lock:
        now = time.monotonic()
        if now < _drain_due - DRAIN_MARGIN:
            return
        try:
            _enqueue_drain(DRAIN_DELAY)
        except Exception:
            # The delivery is stored; the next one (or the periodic sweep) queues the drain.
            logger.exception("could not queue the intake drain")
            return
        _drain_due = now + DRAIN_DELAY


def intake_wake_reset() -> None:
    """Forget the drain this process queued (tests; a process that knows its task queue was emptied)."""
    global _drain_due
    _drain_due = 0.0


# --- processing ------------------------------------------------------------------------------


def intake_claim(pk: int | None = None) -> IntakeLog | None:
    """The oldest received row (or row ``pk`` if still received), locked until the transaction ends.

    Call inside ``transaction.atomic()``; the row is processed and its status changed before that
    transaction commits.
    """
    rows = IntakeLog.objects.filter(status=IntakeLog.Status.RECEIVED)
    if pk is not None:
        rows = rows.filter(pk=pk)
    if connection.features.has_select_for_update_skip_locked:
        # Another drain holds that row: take the next one. For one given row: wait for it.
        rows = rows.select_for_update(skip_locked=pk is None)
    # SQLite: the transaction took the database's write lock at BEGIN (IMMEDIATE), so no other
    # writer runs until it ends.
    return rows.order_by("id").only("id", "provider", "body").first()


def intake_process_next(*, pk: int | None = None) -> bool:
    """Process the oldest received delivery (or delivery ``pk``); False when there was none.

    Parsing, ingesting and the status change commit together or not at all. A failure of the
    delivery itself is recorded on its row (``failed``, with the traceback) and not retried; an
    error that leaves no way to record it (the database went away) rolls back the claim too, so
    the row stays ``received`` for the next drain.
    """
    with transaction.atomic():
        log = intake_claim(pk)
        if log is None:
            return False
        try:
            with transaction.atomic():
                payload = json.loads(log.body) if log.body else {}
                last = None
                for event in parser_for(log.provider)(payload, log.provider):
                    last = ingest_event(event).interaction
        except Exception:
            logger.exception("processing intake %s (%s) failed", log.pk, log.provider)
            IntakeLog.objects.filter(pk=log.pk).update(
                status=IntakeLog.Status.FAILED,
                error=traceback.format_exc()[-5000:],
                updated_at=timezone.now(),
            )
        else:
            IntakeLog.objects.filter(pk=log.pk).update(
                status=IntakeLog.Status.PROCESSED, interaction=last, error="", updated_at=timezone.now()
            )
    return True


def intake_drain_now(*, batch: int | None = None) -> tuple[int, bool]:
    """Process received deliveries until none is left or ``batch`` are done; returns (how many were
    processed, whether none was left)."""
    done = 0
    while batch is None or done < batch:
        if not intake_process_next():
            return done, True
        done += 1
    return done, False

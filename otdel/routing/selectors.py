"""Reads for routing: the facts about who is contacting us, and the live PBX answer built from them."""

from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import replace
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.core.exceptions import field_error
from otdel.core.identity import normalize_phone
from otdel.crm.models import Contact, Deal, Identity, Stage
from otdel.crm.selectors import phone_same_line
from otdel.routing.decide import Destination, RoutingFacts, decide
from otdel.routing.models import BlockedIdentity, Queue
from otdel.routing.snapshot import RoutingSnapshot, routing_snapshot

logger = logging.getLogger(__name__)

# Stand-ins for the parameters of the cached facts SQL (see ``_facts_sql``).
_KIND, _VALUE, _CONTACT = "\x00kind\x00", "\x00value\x00", -7_000_000_000_001


def _facts_queryset(*, by_identity: bool, check_blocked: bool) -> QuerySet[Any]:
    """One row: the contact behind an identity (or a contact id) with its open deal and blocks.

    Every part is an indexed lookup: identity (kind, value) unique, deals by contact, identities
    by contact, blocked (kind, value) unique.
    """
    ref = "contact_id" if by_identity else "pk"
    open_deals = Deal.objects.filter(
        contact_id=OuterRef(ref), stage__kind=Stage.Kind.OPEN, responsible__isnull=False
    ).order_by("-updated_at", "-id")
    annotations: dict[str, Any] = {
        "open_deal_id": Subquery(open_deals.values("id")[:1]),
        "open_deal_owner_id": Subquery(open_deals.values("responsible_id")[:1]),
    }
    if check_blocked:
        blocked = BlockedIdentity.objects.filter(kind=OuterRef("kind"), value=OuterRef("value"))
        annotations["any_blocked"] = Exists(
            Identity.objects.filter(contact_id=OuterRef(ref)).filter(Exists(blocked))
        )
    base: QuerySet[Any]
    if by_identity:
        base = Identity.objects.filter(kind=_KIND, value=_VALUE)
        fields = ["contact_id", "contact__merged_into_id", "contact__non_target", "contact__responsible_id"]
    else:
        base = Contact.objects.filter(pk=_CONTACT)
        fields = ["id", "merged_into_id", "non_target", "responsible_id"]
    # No ordering: (kind, value) is unique, and a sort would only cost planning time.
    return base.annotate(**annotations).order_by().values_list(*fields, *annotations)[:1]


# (vendor, by_identity, check_blocked) -> SQL and where the stand-ins sit among its parameters.
_sql_cache: dict[tuple[str, bool, bool], tuple[str, tuple[Any, ...]]] = {}
_sql_lock = threading.Lock()


def _facts_sql(*, by_identity: bool, check_blocked: bool) -> tuple[str, tuple[Any, ...]]:
    """The ORM's SQL for ``_facts_queryset``, compiled once per process.

    The live route runs this for every ringing call; compiling the query with its subqueries costs
    more than running it, so the text is kept and only the parameters change.
    """
    key = (connection.vendor, by_identity, check_blocked)
    cached = _sql_cache.get(key)
    if cached is None:
        query = _facts_queryset(by_identity=by_identity, check_blocked=check_blocked).query
        sql, params = query.get_compiler(connection=connection).as_sql()
        with _sql_lock:
            cached = _sql_cache.setdefault(key, (sql, tuple(params)))
    return cached


def _facts_row(*, by_identity: bool, check_blocked: bool, values: dict[Any, Any]) -> tuple[Any, ...] | None:
    sql, params = _facts_sql(by_identity=by_identity, check_blocked=check_blocked)
    args = [values.get(p, p) if isinstance(p, str | int) else p for p in params]
    try:
        return _fetch_one(sql, args)
    except (OperationalError, InterfaceError):
        # The prepared-statement cursor skips Django's per-request connection health check (a
        # round trip per ringing call). So a connection that died since the last request
        # (PostgreSQL restarted, an idle timeout) is found here: reconnect once and ask again,
        # unless a transaction depends on that connection.
        if connection.in_atomic_block:
            raise
        logger.warning("live route: database connection lost, reconnecting")
        connection.close()
        return _fetch_one(sql, args)


def _fetch_one(sql: str, args: list[Any]) -> tuple[Any, ...] | None:
    with connection.wrap_database_errors, _cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()


def _cursor() -> Any:
    """A cursor for the facts query; on PostgreSQL one that runs it as a prepared statement.

    Planning this query costs PostgreSQL several times what running it does, and Django sends
    every query unprepared. Prepared, it is planned once per connection. Behind a transaction
    pooler (DISABLE_SERVER_SIDE_CURSORS, as Django advises for pgbouncer) it stays unprepared.
    """
    if connection.vendor != "postgresql" or connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return connection.cursor()
    connection.ensure_connection()
    pg = connection.connection
    if pg.prepare_threshold is None:
        # Django turns automatic preparing off (None) for the sake of poolers; its own client-side
        # cursors never prepare anyway. A threshold no query reaches keeps automatic preparing off
        # and lets the explicit ``prepare=True`` below work.
        pg.prepare_threshold = 2**31 - 1
    raw = _prepared_cursor_class()(pg)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


@lru_cache(maxsize=1)
def _prepared_cursor_class() -> type:
    import psycopg

    class PreparedCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs.setdefault("prepare", True)
            return super().execute(query, params, **kwargs)

    return PreparedCursor


def _facts_from_row(
    row: tuple[Any, ...], check_blocked: bool, identity: tuple[str, str] | None
) -> RoutingFacts:
    contact_id, _merged, non_target, owner_id, deal_id, deal_owner_id, *blocked = row
    return RoutingFacts(
        contact_id=contact_id,
        non_target=bool(non_target),
        blocked=bool(blocked[0]) if check_blocked else False,
        identity=identity,
        deal_id=deal_id,
        deal_owner_id=deal_owner_id,
        owner_id=owner_id,
    )


def routing_facts_by_identity(*, kind: str, value: str, check_blocked: bool = True) -> RoutingFacts:
    """Facts about whoever holds the (normalized) identity; unknown -> facts with no contact.

    ``check_blocked=False`` skips the blocked-identities test when nothing is blocked at all.
    """
    identity = (kind, value)
    row = _facts_row(by_identity=True, check_blocked=check_blocked, values={_KIND: kind, _VALUE: value})
    if row is None and kind == "phone":  # only an unknown number pays for this second look
        line = phone_same_line(value)
        if line is not None:
            row = _facts_row(
                by_identity=True, check_blocked=check_blocked, values={_KIND: kind, _VALUE: line}
            )
    if row is None:
        return RoutingFacts(identity=identity)
    for _hop in range(10):  # follow merges to the surviving contact (rare)
        if row is None or row[1] is None:
            break
        row = _facts_row(by_identity=False, check_blocked=check_blocked, values={_CONTACT: row[1]})
    if row is None:
        return RoutingFacts(identity=identity)
    return _facts_from_row(row, check_blocked, identity)


def routing_facts_for_contact(
    *, contact: Contact, identity: tuple[str, str] | None = None, check_blocked: bool = True
) -> RoutingFacts:
    """Facts about a contact the caller already holds: its own flags, plus one query for the rest."""
    row = _facts_row(by_identity=False, check_blocked=check_blocked, values={_CONTACT: contact.pk})
    deal_id = deal_owner_id = None
    blocked = False
    if row is not None:
        deal_id, deal_owner_id = row[4], row[5]
        blocked = bool(row[6]) if check_blocked else False
    return RoutingFacts(
        contact_id=contact.pk,
        contact=contact,
        non_target=contact.non_target,
        blocked=blocked,
        identity=identity,
        deal_id=deal_id,
        deal_owner_id=deal_owner_id,
        owner_id=contact.responsible_id,
    )


def snapshot_knowing(
    snapshot: RoutingSnapshot, facts: RoutingFacts, queue_id: int | None = None
) -> RoutingSnapshot:
    """``snapshot``, or a fresh one if it predates a person or queue these facts mention."""
    if snapshot.knows(facts.user_ids) and (queue_id is None or queue_id in snapshot.queues):
        return snapshot
    return routing_snapshot(snapshot.day, refresh=True)


def live_route(*, caller: str, called: str = "", now: datetime.datetime | None = None) -> Destination:
    """Answer a PBX while the call rings: read-only, one indexed query, never an error.

    A caller number that can't be parsed still gets the default queue (or the fallback person).
    The configuration comes from the in-process snapshot, so a known caller costs one query.
    """
    moment = timezone.localtime(now or timezone.now())
    snapshot = routing_snapshot(moment.date())
    try:
        facts = routing_facts_by_identity(
            kind="phone", value=normalize_phone(caller), check_blocked=bool(snapshot.blocked)
        )
    except ValidationError:
        facts = RoutingFacts()
    queue_id = None
    if called:
        try:
            queue_id = snapshot.lines.get(normalize_phone(called))
        except ValidationError:
            queue_id = None
    snapshot = snapshot_knowing(snapshot, facts, queue_id)
    destination = decide(facts, snapshot, moment, channel="call", queue_id=queue_id)
    return destination if destination.pick is None else replace(destination, pick=None)


def destination_text(destination: Destination) -> str:
    """The one-line answer for an Asterisk dialplan CURL(): an extension or ``queue:<code>``."""
    if destination.user is not None and destination.user.extension:
        return destination.user.extension
    if destination.queue is not None:
        return f"queue:{destination.queue.code}"
    return ""


def destination_payload(destination: Destination) -> dict[str, Any]:
    return destination.as_dict()


def live_route_response(query: QueryDict) -> HttpResponse:
    """The route endpoint's answer to ``?caller=&called=&format=``: JSON, or one line of text."""
    destination = live_route(caller=query.get("caller", ""), called=query.get("called", ""))
    if query.get("format") == "text":
        return HttpResponse(destination_text(destination), content_type="text/plain; charset=utf-8")
    return JsonResponse(destination_payload(destination), json_dumps_params={"ensure_ascii": False})


def queue_by_code(value: Any, *, field: str = "queue") -> Queue | None:
    """The queue a setting names by code (a Queue passes through; empty means none); an unknown
    code is a field error on ``field``. Every channel's settings and the routing settings use it."""
    if value in (None, ""):
        return None
    if isinstance(value, Queue):
        return value
    queue = Queue.objects.filter(code=str(value)).first()
    if queue is None:
        raise field_error(
            field, _("There is no queue with the code “%(code)s”.") % {"code": value}, "unknown_queue"
        )
    return queue

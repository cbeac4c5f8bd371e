"""Pages of long lists that cost the same at row 150,000 as at row 1: keyset ("seek") pagination.

A page ends with a cursor: the ordering values of its last row. The next page asks for the rows
after it, so the database starts where the previous page ended instead of counting its way there
(OFFSET); rows inserted meanwhile neither repeat nor push a row off the page. Page numbers are
offered only for the first ``PAGE_CAP`` pages, and counts stop at ``COUNT_CAP`` ("more than
10 000"), so no page of a list counts a million rows.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from otdel.crm.search import COUNT_CAP, COUNT_PROBE, count_capped

PAGE_CAP = 20  # page numbers go this far; further on, only "next"
BAD_CURSOR = _("Not a list position; use the `next` link.")


def ordering_of(qs: QuerySet[Any]) -> list[tuple[str, bool]]:
    """(field, descending) pairs of the queryset's order, ending with the primary key."""
    names = list(qs.query.order_by) or list(qs.model._meta.ordering)
    keys: list[tuple[str, bool]] = []
    for name in names:
        if not isinstance(name, str):
            continue  # expressions cannot be keys; the pk below still makes the order total
        descending = name.startswith("-")
        field = name.lstrip("-")
        keys.append(("pk" if field == "id" else field, descending))
    if not any(field == "pk" for field, _d in keys):
        keys.append(("pk", keys[-1][1] if keys else False))
    return keys


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        parsed = parse_datetime(str(value["dt"]))
        if parsed is None:
            raise ValueError("bad datetime")
        return parsed
    return value


def encode(values: list[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("bad cursor") from exc
    if not isinstance(values, list) or len(values) != size:
        raise ValueError("bad cursor")
    return [_typed(v) for v in values]


def _value(row: Any, field: str) -> Any:
    value: Any = row
    for part in field.split("__"):
        value = getattr(value, part)
    return value


def after(qs: QuerySet[Any], keys: list[tuple[str, bool]], values: list[Any]) -> QuerySet[Any]:
    """The rows that come after ``values`` in the order ``keys``.

    (a > x) OR (a = x AND b > y) OR ..., plus a >= x on its own, so an index on the first key starts
    the scan at the cursor instead of filtering its way there.
    """
    condition = Q()
    equal = Q()
    for (field, descending), value in zip(keys, values, strict=True):
        condition |= equal & Q(**{f"{field}__{'lt' if descending else 'gt'}": value})
        equal &= Q(**{field: value})
    first, descending = keys[0]
    return qs.filter(Q(**{f"{first}__{'lte' if descending else 'gte'}": values[0]}) & condition)


def ordered(qs: QuerySet[Any], keys: list[tuple[str, bool]]) -> QuerySet[Any]:
    return qs.order_by(*[F(f).desc() if d else F(f).asc() for f, d in keys])


@dataclass
class KeysetPage:
    """One page of a list, for the templates: rows, the next cursor, numbers while they make sense."""

    rows: list[Any]
    number: int | None  # None when reached by cursor past the numbered pages
    next_cursor: str | None
    count: int
    count_capped: bool
    per_page: int

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def object_list(self) -> list[Any]:
        return self.rows

    @property
    def page_numbers(self) -> list[int]:
        """Numbers around this page, never past PAGE_CAP (further on there is only "next")."""
        if self.number is None:
            return []
        pages = min(-(-self.count // self.per_page) if self.count else 1, PAGE_CAP)
        return list(range(max(1, self.number - 4), min(pages, self.number + 4) + 1))

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor) or self.number != 1


def _searched(qs: QuerySet[Any]) -> bool:
    return "search_score" in qs.query.annotations


Load = Callable[[list[int]], list[Any]]


def _rows(
    qs: QuerySet[Any], keys: list[tuple[str, bool]], start: int, stop: int, load: Load | None
) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """Rows ``start:stop`` of ``qs`` and the ordering values of each (a cursor is made of them).

    A search ranks on a lean query (the ordering keys only: planning and carrying the display joins
    for every match cost more than the match) and loads its page by id; so does a list given
    ``load`` (ids -> rows in that order, e.g. the API's plain rows)."""
    fields = [field for field, _d in keys]
    if not _searched(qs) and load is None:
        rows = list(qs[start:stop])
        return rows, [tuple(_value(row, field) for field in fields) for row in rows]
    # The ranking columns stay selected: ordering by a constant score (a phone or e-mail hit)
    # that is not selected would be read by PostgreSQL as a column position.
    ranked = list(qs.values_list(*fields)[start:stop])
    return _load_ranked(qs, ranked, fields.index("pk"), load)


def _pk(row: Any) -> Any:
    return row["id"] if isinstance(row, dict) else row.pk


def page_of(
    qs: QuerySet[Any],
    *,
    page: Any = None,
    cursor: str | None = None,
    per_page: int = 50,
    load: Load | None = None,
) -> KeysetPage:
    """A page by number (1..PAGE_CAP) or by cursor; raises ValueError for a bad one.

    ``load`` turns the page's ids (in order) into its rows; without it the rows are ``qs``'s own.
    A search on a numbered page ranks up to ``COUNT_PROBE`` rows past the page's start in the same
    query, and that is its count: exact when fewer match, else "more than" the page's start plus
    ``COUNT_PROBE`` (a search is never counted in a second pass: past a thousand matches a number
    tells less than a narrower query, and counting them cost as much as ranking them).
    """
    keys = ordering_of(qs)
    qs = ordered(qs, keys)
    number: int | None = 1
    known: int | None = None  # the count, when the page's own query saw the last match
    known_capped = False  # ... or saw more than COUNT_PROBE past the page's start
    if cursor:
        qs = after(qs, keys, decode(cursor, len(keys)))
        number = None
        rows, values = _rows(qs, keys, 0, per_page + 1, load)
    else:
        number = int(page) if page not in (None, "") else 1
        if not 1 <= number <= PAGE_CAP:
            raise ValueError("page out of range")
        offset = (number - 1) * per_page
        if _searched(qs) and per_page < COUNT_PROBE:
            fields = [field for field, _d in keys]
            probe = list(qs.values_list(*fields)[offset : offset + COUNT_PROBE + 1])
            if len(probe) <= COUNT_PROBE and (probe or number == 1):
                known = offset + len(probe)
            elif len(probe) > COUNT_PROBE:
                known, known_capped = offset + COUNT_PROBE, True
            at = fields.index("pk")
            rows, values = _load_ranked(qs, probe[: per_page + 1], at, load)
        else:
            rows, values = _rows(qs, keys, offset, offset + per_page + 1, load)
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_cursor = encode(list(values[len(rows) - 1])) if more and rows else None
    count, capped = (0, False)
    if number is not None:
        if known is not None:
            count, capped = known, known_capped
        elif not more and (rows or number == 1):
            count = (number - 1) * per_page + len(rows)  # the last page: nothing to count
        else:
            count, capped = count_capped(qs)
    return KeysetPage(rows, number, next_cursor, count, capped, per_page)


def _load_ranked(
    qs: QuerySet[Any], ranked: list[tuple[Any, ...]], at: int, load: Load | None
) -> tuple[list[Any], list[tuple[Any, ...]]]:
    ids = [values[at] for values in ranked]
    if not ids:
        return [], []
    if load is not None:
        rows = load(ids)
        found = {_pk(row) for row in rows}
    else:
        loaded = qs.in_bulk(ids)
        rows = [loaded[pk] for pk in ids if pk in loaded]
        found = set(loaded)
    return rows, [values for values in ranked if values[at] in found]


def web_page(request: HttpRequest, qs: QuerySet[Any], per_page: int = 50) -> KeysetPage:
    """The page a list view shows: ``?page=N`` (first pages) or ``?after=<cursor>``; a bad one
    shows the first page."""
    try:
        return page_of(qs, page=request.GET.get("page"), cursor=request.GET.get("after"), per_page=per_page)
    except ValueError:
        return page_of(qs, per_page=per_page)


class KeysetPagination(BasePagination):
    """``{"count", "count_capped", "next", "previous", "results"}``: ``next`` is a cursor link
    (``?cursor=``) that costs the same on any page; ``?page=N`` works for the first pages, and
    ``count`` stops at 10 000, a search's at 1 000 past the page's start (then ``count_capped`` is
    true)."""

    page_size = 50
    max_page_size = 500

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None, load: Load | None = None
    ) -> list[Any]:
        """The page's rows: ``queryset``'s instances, or what ``load`` makes of the page's ids."""
        self.request = request
        size = request.query_params.get("page_size")
        try:
            per_page = min(max(int(size), 1), self.max_page_size) if size else self.page_size
        except ValueError:
            raise ValidationError({"page_size": [_("Enter a whole number.")]}) from None
        try:
            self.page = page_of(
                queryset,
                page=request.query_params.get("page"),
                cursor=request.query_params.get("cursor"),
                per_page=per_page,
                load=load,
            )
        except ValueError:
            field = "cursor" if request.query_params.get("cursor") else "page"
            message = (
                BAD_CURSOR
                if field == "cursor"
                else _("Page numbers go up to %(cap)s; follow the `next` link further.") % {"cap": PAGE_CAP}
            )
            raise ValidationError({field: [message]}) from None
        return self.page.rows

    def _link(self, **params: Any) -> str:
        url = self.request.build_absolute_uri()
        for name in ("page", "cursor"):
            url = remove_query_param(url, name)
        for name, value in params.items():
            url = replace_query_param(url, name, value)
        return url

    def get_paginated_response(self, data: Any) -> Response:
        page = self.page
        previous = None
        if page.number and page.number > 1:
            previous = self._link(page=page.number - 1)
        return Response(
            {
                "count": page.count if page.number else None,
                "count_capped": page.count_capped,
                "next": self._link(cursor=page.next_cursor) if page.next_cursor else None,
                "previous": previous,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": f"Rows, counted up to {COUNT_CAP} (with `q`: up to {COUNT_PROBE} past the "
                    "page's start); null on pages reached by cursor",
                },
                "count_capped": {"type": "boolean", "description": "More rows than `count`"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Where the previous page ended: take it from that page's `next` link",
            },
            {
                "name": "page",
                "required": False,
                "in": "query",
                "schema": {"type": "integer"},
                "description": f"Page number, 1 to {PAGE_CAP}",
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "schema": {"type": "integer"},
                "description": f"Rows per page, up to {self.max_page_size}",
            },
        ]

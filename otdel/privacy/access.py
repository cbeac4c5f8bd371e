"""The personal data access log: who opened which card, searched whom, exported what.

``PDAccessMiddleware`` records card views and searches on the pages and the API without touching
their views; exports call ``pd_access_record`` themselves (with their filter and row count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from otdel.core.jsonsafe import nul_visible
from otdel.core.net import client_ip
from otdel.privacy.models import AccessAction, PDAccessLog

# URL names whose ``pk`` is a contact: opening them shows the person's data.
CARD_URLS = {"contact_detail": AccessAction.VIEW}
API_CARD_PREFIX = "api-contact-"
# URL names that search people, and the query parameters that hold what was searched.
SEARCH_URLS = {"contact_list", "contact_pick", "search", "api-contact-list"}
SEARCH_PARAMS = ("q", "identity")


def _client_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def _as_logged(text: str, limit: int) -> str:
    """What was sent, storable in any database: a NUL byte (PostgreSQL text refuses it) is kept as the
    visible ``\\x00``, so a search cannot slip past the log by carrying one."""
    return nul_visible(text or "")[:limit]


def pd_access_record(
    *,
    user: Any,
    action: str,
    contact: Any = None,
    query: str = "",
    row_count: int | None = None,
    path: str = "",
    ip: str | None = None,
) -> PDAccessLog:
    """One row of the access log; exports of lists pass their filter as ``query`` and ``row_count``."""
    contact_id = contact if isinstance(contact, int) else getattr(contact, "pk", None)
    return PDAccessLog.objects.create(
        user=user if getattr(user, "pk", None) else None,
        user_name=(user.get_full_name() or user.get_username())[:150] if getattr(user, "pk", None) else "",
        action=action,
        contact_id=contact_id,
        query=_as_logged(query, 500),
        row_count=row_count,
        path=_as_logged(path, 300),
        ip=ip,
    )


def _contact_for_query(text: str) -> int | None:
    """A search for an exact phone or e-mail names one person: link the log row to them.

    The search of the same request has read the text and looked it up (``queries_remembered``)."""
    from otdel.crm.search import parse

    query = parse(text)
    if query.identity is None:
        return None
    holders = query.contact_ids()
    return next((pk for pk in holders if query.matched[pk][1] == query.identity[1]), None)


def log_request(request: HttpRequest, response: HttpResponse) -> PDAccessLog | None:
    if request.method != "GET" or response.status_code != 200:
        return None
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    if match is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    name = match.url_name or ""
    pk = match.kwargs.get("pk")
    if name in CARD_URLS and pk is not None:
        return pd_access_record(
            user=user, action=CARD_URLS[name], contact=int(pk), path=request.path, ip=_client_ip(request)
        )
    if name.startswith(API_CARD_PREFIX) and pk is not None and str(pk).isdigit():
        return pd_access_record(
            user=user, action=AccessAction.API, contact=int(pk), path=request.path, ip=_client_ip(request)
        )
    if name in SEARCH_URLS:
        text = next(
            (request.GET.get(p, "").strip() for p in SEARCH_PARAMS if request.GET.get(p, "").strip()), ""
        )
        if text:
            return pd_access_record(
                user=user,
                action=AccessAction.SEARCH,
                contact=_contact_for_query(text),
                query=text,
                path=request.path,
                ip=_client_ip(request),
            )
    return None


class PDAccessMiddleware:
    """Writes the access log after a successful GET of a contact card or a people search."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return self._logged(request, self.get_response(request))
        from otdel.crm.search import queries_remembered

        with queries_remembered():
            return self._logged(request, self.get_response(request))

    def _logged(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            log_request(request, response)
        except Exception:  # the log must never break the page the user asked for
            import logging

            logging.getLogger(__name__).exception("PD access log write failed")
        return response


def pd_bulk_export_allowed(user: Any) -> bool:
    """Exporting a list of people (a report, a contact list) needs this: administrators and the head
    of sales. Exports call it before building the file and ``pd_access_record`` after, with the
    filter as ``query`` and the number of rows."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (getattr(user, "is_admin", False) or getattr(user, "role", "") == "head_of_sales")
    )

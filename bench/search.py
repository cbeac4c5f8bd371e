"""Search and deep list pages on the bench data set: Otdel against the raw SQL behind it.

Everything runs in this one process, alternating Otdel and its raw baseline query by query, so
the ratio holds on a busy machine. Otdel is called through Django's test client (URL routing,
session or token auth, scope, the search service, templates or serializers); the baseline is the
same index query issued directly on a cursor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/otdel_bench .venv/bin/python bench/search.py
    OTDEL_DATA_DIR=bench/data/small .venv/bin/python bench/search.py --repeat 20

Targets (issue 16): top-bar search and ``?q=`` p99 <= 3x the raw trigram/FTS SQL; a full phone
<= 2x the identity lookup behind the PBX route; any list page <= 3x the first page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(
    pairs: list[tuple[Callable[[], Any], Callable[[], Any]]], repeat: int
) -> tuple[list[float], list[float]]:
    """Alternate (otdel, raw) calls; warm both first. Returns the durations of each side in ms."""
    otdel_times: list[float] = []
    raw_times: list[float] = []
    for otdel, raw in pairs:
        for answer in (otdel(), raw()):
            status = getattr(answer, "status_code", 200)
            if status != 200:  # a redirect or an error would be measured as if it were the search
                raise SystemExit(f"{answer.request['PATH_INFO']}: {status}")
    for round_ in range(repeat):
        for otdel, raw in pairs:
            sides = [(otdel, otdel_times), (raw, raw_times)]
            if round_ % 2:
                sides.reverse()
            for call, times in sides:
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
    return otdel_times, raw_times


def row(name: str, otdel: list[float], raw: list[float], target: float) -> str:
    o99, r99 = percentile(otdel, 99), percentile(raw, 99)
    ratio = o99 / r99 if r99 else float("inf")
    verdict = "ok" if ratio <= target else "MISSED"
    return (
        f"| {name} | {statistics.median(raw):.1f} / {r99:.1f} | {statistics.median(otdel):.1f} / {o99:.1f} "
        f"| **{ratio:.2f}** (<= {target:g}) {verdict} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30, help="rounds over every query")
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from otdel.accounts.models import Role, User
    from otdel.crm import search
    from otdel.crm.models import Contact, Deal, Identity
    from otdel.crm.paging import encode

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    if not Contact.objects.exists():
        raise SystemExit("No data: run bench/generate.py first.")
    postgres = connection.vendor == "postgresql"
    admin, _created = User.objects.get_or_create(
        username="bench-search-admin", defaults={"role": Role.ADMIN, "full_name": "Администратор"}
    )
    manager = User.objects.filter(role=Role.SALES_MANAGER).order_by("pk").first()
    from otdel.accounts.services import user_token_issue

    token = user_token_issue(user=admin)
    pbx_user = User.objects.filter(username="bench-pbx").first()
    pbx = user_token_issue(user=pbx_user) if pbx_user else None
    web = Client()
    web.force_login(admin)
    # An administrator's session needs its second factor (otdel/accounts/twofactor.py); without it
    # every page of the top bar would be measured as a redirect to the code page.
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=admin, confirmed=True).first() or TOTPDevice.objects.create(
        user=admin, name="bench", confirmed=True
    )
    session = web.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    web_manager = Client()
    web_manager.force_login(manager)
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    route = Client(HTTP_AUTHORIZATION=f"Token {pbx}") if pbx else None
    # As otdel.wsgi does in every worker: what is loaded by now stays out of the collector's passes.
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018
    gc.freeze()

    def fetch(sql: str, params: list[Any]) -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    # --- the raw baseline: the index query for a query's words, written by hand ----------------
    def raw_match(query: Any) -> tuple[str, list[Any]]:
        if postgres:
            groups, params = [], []
            for term in query.terms:
                groups.append("(" + " OR ".join(["e.text LIKE %s"] * len(term.forms)) + ")")
                params += [f"% {f}%" for f in term.forms]
            return " AND ".join(groups), params
        fts = " AND ".join(
            "(" + " OR ".join(f'" {f}"' for f in t.forms) + ")" for t in query.terms if len(t.text) >= 2
        )
        sql = "e.id IN (SELECT rowid FROM crm_searchentry_fts WHERE crm_searchentry_fts MATCH %s)"
        extra = ["instr(e.text, %s) > 0" for t in query.terms if len(t.text) < 2]
        return " AND ".join([sql, *extra]), [fts] + [f" {t.text}" for t in query.terms if len(t.text) < 2]

    def raw_rank(query: Any) -> tuple[str, list[Any]]:
        pos = "strpos(e.text, %s)" if postgres else "instr(e.text, %s)"
        parts, params = [], []
        for term in query.terms:
            parts.append(f"CASE WHEN {pos} > 0 THEN 3 WHEN {pos} > 0 THEN 2 ELSE 0 END")
            params += [f" {term.text} ", f" {term.text}"]
        first = f" {query.terms[0].text}"
        parts.append("CASE WHEN substr(e.text, 1, %s) = %s THEN 1 ELSE 0 END")
        params += [len(first), first]
        return " + ".join(parts), params

    def raw_search(query: Any, kind: str, limit: int) -> Callable[[], Any]:
        match, match_params = raw_match(query)
        rank, rank_params = raw_rank(query)
        table, key, entry = {
            "contacts": ("crm_contact", "e.contact_id", "contact"),
            "companies": ("crm_company", "e.company_id", "company"),
            "deals": ("crm_deal", "e.deal_id", "deal"),
        }[kind]
        sql = (
            f"SELECT r.*, {rank} AS score FROM crm_searchentry e JOIN {table} r ON r.id = {key} "
            f"WHERE e.kind = '{entry}' AND {match} ORDER BY score DESC, length(e.text), r.id DESC LIMIT {limit}"
        )
        params = rank_params + match_params
        return lambda: fetch(sql, params)

    def raw_leads(query: Any, limit: int) -> Callable[[], Any]:
        match, match_params = raw_match(query)
        sql = (
            "SELECT l.* FROM crm_lead l JOIN crm_searchentry e ON e.contact_id = l.contact_id "
            f"WHERE e.kind = 'contact' AND {match} ORDER BY length(e.text), l.id DESC LIMIT {limit}"
        )
        return lambda: fetch(sql, match_params)

    def raw_top_bar(query: Any) -> Callable[[], Any]:
        calls = [raw_search(query, kind, 5) for kind in ("contacts", "companies", "deals")]
        calls.append(raw_leads(query, 5))
        return lambda: [call() for call in calls]

    sample = Contact.objects.filter(identities__kind="phone").order_by("pk")[Contact.objects.count() // 2]
    phone = sample.identities.filter(kind="phone").values_list("value", flat=True).first() or ""
    d = phone[2:]
    typed_full = f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}"
    typed_part = f"{d[3:6]}-{d[6:8]}-{d[8:]}"
    email = Identity.objects.filter(kind="email").order_by("pk").values_list("value", flat=True)[1000]
    # The words of the address, as the search read an e-mail before it resolved one by the identity
    # index alone (the baseline of the earlier runs).
    email_words = search.Query(raw=email, terms=[search.Term(w) for w in search.words(email)])
    words = ["Иванов", "Петр", "ова", "Смирнова Ольга", "Смирнова О.", "Кисилева", "Ромашка"]

    print(
        f"# Search benchmark: {connection.vendor}, {Contact.objects.count():,} contacts, {args.repeat} rounds"
    )
    print()
    print("| what | raw p50 / p99, ms | Otdel p50 / p99, ms | p99 Otdel / raw |")
    print("|---|---|---|---|")

    # 1. The top bar and ?q=, per query; the baseline is the same index query on a cursor.
    for text in words:
        query = search.parse(text)
        bar = lambda t=text: web.get("/search/suggest/", {"q": t})  # noqa: E731
        api_q = lambda t=text: api.get("/api/v1/contacts", {"q": t})  # noqa: E731
        o, r = measure([(bar, raw_top_bar(query))], args.repeat)
        print(row(f"top bar “{text}” (4 kinds)", o, r, 3), flush=True)
        o, r = measure([(api_q, raw_search(query, "contacts", 51))], args.repeat)
        print(row(f"`/api/v1/contacts?q={text}`", o, r, 3), flush=True)
    query = search.parse("Смирнова")
    o, r = measure(
        [(lambda: web_manager.get("/search/suggest/", {"q": "Смирнова"}), raw_top_bar(query))], args.repeat
    )
    print(row("top bar “Смирнова”, a salesperson (scope)", o, r, 3), flush=True)

    # 2. Phones and e-mails: the identity index.
    raw_identity = lambda: fetch(  # noqa: E731
        "SELECT contact_id FROM crm_identity WHERE kind = %s AND value = %s", ["phone", phone]
    )
    bar_full = lambda: web.get("/search/suggest/", {"q": typed_full})  # noqa: E731
    o, r = measure([(bar_full, raw_identity)], args.repeat)
    print(row(f"top bar full phone “{typed_full}” vs raw identity SQL", o, r, 2), flush=True)
    if route is not None:
        route_call = lambda: route.get("/api/v1/telephony/route", {"caller": typed_full, "called": "1"})  # noqa: E731
        o, r = measure([(bar_full, route_call)], args.repeat)
        print(row("top bar full phone vs `GET /telephony/route` (the PBX lookup)", o, r, 2), flush=True)
        bar_rest = lambda: web.get("/search/suggest/", {"q": typed_full, "rest": "1"})  # noqa: E731
        o, r = measure([(bar_rest, route_call)], args.repeat)
        print(
            row("top bar full phone, the rest (its companies, deals, leads) vs the route", o, r, 2),
            flush=True,
        )
        bar_floor = lambda: web.get("/search/suggest/", {"q": "x"})  # noqa: E731
        o, r = measure([(bar_floor, route_call)], args.repeat)
        print(
            row("for reference: a signed-in request that searches nothing vs the route", o, r, 2), flush=True
        )
        api_floor = lambda: api.get("/api/v1/contacts", {"q": "x"})  # noqa: E731
        o, r = measure([(api_floor, route_call)], args.repeat)
        print(
            row("for reference: an API `?q=` that searches nothing (too short) vs the route", o, r, 2),
            flush=True,
        )
        api_full = lambda: api.get("/api/v1/contacts", {"q": typed_full})  # noqa: E731
        o, r = measure([(api_full, route_call)], args.repeat)
        print(row("`/contacts?q=` full phone vs `GET /telephony/route`", o, r, 2), flush=True)
    key = "".join(ch for ch in typed_part if ch.isdigit())[::-1]
    if postgres:
        raw_suffix_sql = "SELECT i.contact_id FROM crm_searchentry e JOIN crm_identity i ON i.id = e.identity_id WHERE e.kind = 'phone' AND e.digits LIKE %s LIMIT 500"
        suffix_params = [key + "%"]
    else:
        raw_suffix_sql = "SELECT i.contact_id FROM crm_searchentry e JOIN crm_identity i ON i.id = e.identity_id WHERE e.kind = 'phone' AND e.digits >= %s AND e.digits < %s LIMIT 500"
        suffix_params = [key, key + ":"]
    o, r = measure(
        [
            (
                lambda: web.get("/search/suggest/", {"q": typed_part}),
                lambda: fetch(raw_suffix_sql, suffix_params),
            )
        ],
        args.repeat,
    )
    print(row(f"top bar last digits “{typed_part}” vs raw suffix SQL", o, r, 3), flush=True)
    o, r = measure(
        [
            (
                lambda: api.get("/api/v1/contacts", {"q": email.upper()}),
                raw_search(email_words, "contacts", 51),
            )
        ],
        args.repeat,
    )
    print(row("`/contacts?q=` an e-mail in capitals vs the raw query of its words", o, r, 3), flush=True)
    raw_email = lambda: fetch(  # noqa: E731
        "SELECT contact_id FROM crm_identity WHERE kind = %s AND value = %s", ["email", email]
    )
    o, r = measure([(lambda: api.get("/api/v1/contacts", {"q": email.upper()}), raw_email)], args.repeat)
    print(row("`/contacts?q=` an e-mail in capitals vs raw identity SQL", o, r, 3), flush=True)
    o, r = measure([(lambda: web.get("/search/suggest/", {"q": email.upper()}), raw_email)], args.repeat)
    print(row("top bar an e-mail in capitals vs raw identity SQL", o, r, 3), flush=True)

    # 3. Lists: the first page against a page 150,000 rows in (page 3001 of 50), by cursor.
    def cursor_at(qs: Any, offset: int) -> str:
        from otdel.crm.paging import _value, ordered, ordering_of

        keys = ordering_of(qs)
        last = ordered(qs, keys)[offset - 1 : offset].get()
        return encode([_value(last, f) for f, _d in keys])

    deep = min(150_000, Contact.objects.count() // 2, Deal.objects.count() - 100)  # 150,000 on the bench set
    contact_cursor = cursor_at(Contact.objects.filter(merged_into__isnull=True), deep)
    deal_cursor = cursor_at(Deal.objects.order_by("-created_at", "-id"), deep)
    lists = [
        (
            "web contact list",
            lambda: web.get("/contacts/", {"after": contact_cursor}),
            lambda: web.get("/contacts/"),
        ),
        (
            "`/api/v1/contacts`",
            lambda: api.get("/api/v1/contacts", {"cursor": contact_cursor}),
            lambda: api.get("/api/v1/contacts"),
        ),
        (
            "`/api/v1/deals`",
            lambda: api.get("/api/v1/deals", {"cursor": deal_cursor}),
            lambda: api.get("/api/v1/deals"),
        ),
        (
            "web deal list",
            lambda: web.get("/deals/list/", {"after": deal_cursor}),
            lambda: web.get("/deals/list/"),
        ),
    ]
    print()
    print(f"| list | page 1 p50 / p99, ms | row {deep + 1:,} on p50 / p99, ms | p99 deep / first |")
    print("|---|---|---|---|")
    for name, deep_call, first_call in lists:
        o, r = measure([(deep_call, first_call)], args.repeat)
        print(row(name, o, r, 3), flush=True)
    offset_sql = f"SELECT id FROM crm_deal ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET {deep}"
    first_sql = "SELECT id FROM crm_deal ORDER BY created_at DESC, id DESC LIMIT 50"
    o, r = measure([(lambda: fetch(offset_sql, []), lambda: fetch(first_sql, []))], max(5, args.repeat // 3))
    print(
        row(f"for reference: raw OFFSET {deep} on deals (what page {deep // 50 + 1} cost before)", o, r, 3),
        flush=True,
    )


if __name__ == "__main__":
    main()

"""The raw baseline for the live-route benchmark: the same indexed lookup behind a minimal WSGI app.

No framework, no auth, no ORM: digits -> E.164, one SELECT on (kind, value), the owner's extension.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from urllib.parse import parse_qs

DATABASE_URL = os.environ.get("DATABASE_URL", "")
SQLITE_PATH = os.environ.get("BENCH_SQLITE", "")
_local = threading.local()

SQL = (
    "SELECT c.id, c.non_target, u.extension FROM crm_identity i "
    "JOIN crm_contact c ON c.id = i.contact_id LEFT JOIN accounts_user u ON u.id = c.responsible_id "
    "WHERE i.kind = 'phone' AND i.value = {p}"
)


def _conn():  # type: ignore[no-untyped-def]
    conn = getattr(_local, "conn", None)
    if conn is None:
        if DATABASE_URL.startswith("postgres"):
            import psycopg

            conn = psycopg.connect(DATABASE_URL, autocommit=True)
        else:
            conn = sqlite3.connect(SQLITE_PATH, check_same_thread=False)
        _local.conn = conn
    return conn


def _e164(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    return "+" + digits


def application(environ, start_response):  # type: ignore[no-untyped-def]
    caller = parse_qs(environ.get("QUERY_STRING", "")).get("caller", [""])[0]
    conn = _conn()
    placeholder = "%s" if DATABASE_URL.startswith("postgres") else "?"
    cur = conn.cursor()
    cur.execute(SQL.format(p=placeholder), (_e164(caller),))
    row = cur.fetchone()
    if row is None:
        body = {"destination": {"kind": "queue", "queue": "sales"}, "reason": "queue", "contact": None}
    else:
        body = {
            "destination": {"kind": "user", "extension": row[2]},
            "reason": "contact_owner",
            "contact": row[0],
        }
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]

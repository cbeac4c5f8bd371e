"""The raw baseline for the intake benchmark: one single-row INSERT per POST behind a minimal WSGI app.

No framework, no auth, no validation beyond json.loads: the body goes into ``bench_raw_event`` and
is committed (autocommit), with the same durability Otdel uses (SQLite WAL + synchronous=FULL).
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import threading

DATABASE_URL = os.environ.get("DATABASE_URL", "")
SQLITE_PATH = os.environ.get("BENCH_SQLITE", "")
TABLE = "bench_raw_event"
_local = threading.local()


def _conn():  # type: ignore[no-untyped-def]
    conn = getattr(_local, "conn", None)
    if conn is None:
        if DATABASE_URL.startswith("postgres"):
            import psycopg

            conn = psycopg.connect(DATABASE_URL, autocommit=True)
        else:
            conn = sqlite3.connect(SQLITE_PATH, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=FULL")
        _local.conn = conn
    return conn


def create_table(cursor, vendor: str) -> None:  # type: ignore[no-untyped-def]
    key = "BIGSERIAL PRIMARY KEY" if vendor == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}, call_id VARCHAR(64) NOT NULL, "
        "event VARCHAR(16) NOT NULL, body TEXT NOT NULL, received_at VARCHAR(40) NOT NULL)"
    )


def application(environ, start_response):  # type: ignore[no-untyped-def]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    payload = json.loads(body or "{}")
    placeholder = "%s" if DATABASE_URL.startswith("postgres") else "?"
    _conn().execute(
        f"INSERT INTO {TABLE} (call_id, event, body, received_at) VALUES ({', '.join([placeholder] * 4)})",
        (
            str(payload.get("call_id", "")),
            str(payload.get("event", "")),
            body,
            datetime.datetime.now(datetime.UTC).isoformat(),
        ),
    )
    data = b'{"status": "accepted"}'
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]

"""Helpers for operations tests: a data dir of the test's own, running manage.py against other databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    """The installation's OTDEL_DATA_DIR for this test (uploads go under its media/)."""
    path = tmp_path / "data"
    (path / "media").mkdir(parents=True)
    (path / "static").mkdir()
    (path / "secret_key").write_text("test-secret")
    settings.DATA_DIR = path
    settings.MEDIA_ROOT = path / "media"
    settings.STATIC_ROOT = path / "static"
    return path


def database_url() -> str:
    """The test database as a DATABASE_URL, for child processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(
    *args: str, env: dict[str, str], check: bool = True, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


class Target:
    """A second, empty installation (data dir + database) to restore into, and a way to read it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.vendor = connection.vendor
        self.env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "OTDEL_TEST_SQLITE"}}
        self.env["OTDEL_DATA_DIR"] = str(data_dir)
        self.pg_name = ""
        if self.vendor == "postgresql":
            db = connection.settings_dict
            self.pg_name = f"{db['NAME']}_restore_{uuid.uuid4().hex[:8]}"
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.pg_name}"')
            auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
            self.url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{self.pg_name}"
            self.env["DATABASE_URL"] = self.url

    def rows(self, sql: str) -> list[tuple]:
        if self.vendor == "sqlite":
            import sqlite3

            with sqlite3.connect(self.data_dir / "otdel.sqlite3") as db:
                return list(db.execute(sql))
        import psycopg

        with psycopg.connect(self.url) as db:
            return list(db.execute(sql))  # type: ignore[arg-type]

    def execute(self, *statements: str) -> None:
        if self.vendor == "sqlite":
            import sqlite3

            with sqlite3.connect(self.data_dir / "otdel.sqlite3") as db:
                for sql in statements:
                    db.execute(sql)
            return
        import psycopg

        with psycopg.connect(self.url) as db:
            for sql in statements:
                db.execute(sql)  # type: ignore[arg-type]

    def drop(self) -> None:
        if self.pg_name:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@pytest.fixture
def restore_target(tmp_path) -> Iterator[Target]:
    target = Target(tmp_path / "restored")
    yield target
    target.drop()

"""Upgrade helpers: which existing tables a pending migration rewrites, and a timed rehearsal on a copy."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor

from otdel.ops.archive import ArchiveError, pg_command_env


def heavy_migration_tables(migration: Migration, connection: Any) -> dict[str, int]:
    """``{table: rows}`` for the existing tables ``migration`` alters (new tables cost nothing)."""
    existing = set(connection.introspection.table_names())
    tables: dict[str, int] = {}
    for operation in migration.operations:
        model_name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
        if not model_name or type(operation).__name__ == "CreateModel":
            continue
        try:
            table = apps.get_model(migration.app_label, model_name)._meta.db_table
        except LookupError:
            table = f"{migration.app_label}_{str(model_name).lower()}"
        if table in existing and table not in tables:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
                tables[table] = int(cursor.fetchone()[0])
    return tables


@dataclass(frozen=True)
class Timed:
    app: str
    name: str
    seconds: float


@contextmanager
def database_copy(using: str = "default") -> Iterator[str]:
    """A throw-away copy of the database, as a connection alias, for rehearsing an upgrade on it.

    SQLite: a file copied with the online backup API. PostgreSQL: a scratch database filled with
    pg_dump | pg_restore (the role needs CREATEDB); dropped afterwards either way.
    """
    source = connections[using]
    alias = f"{using}_rehearsal"
    settings_dict = {**source.settings_dict}
    scratch_pg = ""
    with tempfile.TemporaryDirectory(prefix="otdel-rehearsal-") as tmp:
        work = Path(tmp)
        if source.vendor == "sqlite":
            copy = work / "copy.sqlite3"
            with sqlite3.connect(str(source.settings_dict["NAME"])) as src, sqlite3.connect(str(copy)) as dst:
                src.backup(dst)
            settings_dict["NAME"] = str(copy)
        elif source.vendor == "postgresql":
            scratch_pg = f"{source.settings_dict['NAME']}_rehearsal_{os.getpid()}"
            with source.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {source.ops.quote_name(scratch_pg)}")
            args, env = pg_command_env(source.settings_dict)
            dump = work / "copy.pgdump"
            for command in (
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    *args,
                    "--file",
                    str(dump),
                    source.settings_dict["NAME"],
                ],
                ["pg_restore", "--no-owner", "--exit-on-error", *args, "--dbname", scratch_pg, str(dump)],
            ):
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise ArchiveError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")
            settings_dict["NAME"] = scratch_pg
        else:
            raise ArchiveError(f"cannot copy a {source.vendor} database")
        connections.settings[alias] = settings_dict
        try:
            yield alias
        finally:
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]
            if scratch_pg:
                with source.cursor() as cursor:
                    cursor.execute(
                        f"DROP DATABASE IF EXISTS {source.ops.quote_name(scratch_pg)} WITH (FORCE)"
                    )


def rehearse_migrations(using: str = "default") -> list[Timed]:
    """Apply the pending migrations to a copy of the database and time each; the real one is untouched."""
    timings: list[Timed] = []
    with database_copy(using) as alias:
        started: dict[str, float] = {}

        def progress(action: str, migration: Migration | None = None, fake: bool | None = None, /) -> None:
            if migration is None:
                return
            if action == "apply_start":
                started[migration.name + migration.app_label] = time.perf_counter()
            elif action == "apply_success":
                took = time.perf_counter() - started[migration.name + migration.app_label]
                timings.append(Timed(migration.app_label, migration.name, took))

        executor = MigrationExecutor(connections[alias], progress_callback=progress)
        targets = executor.loader.graph.leaf_nodes()
        executor.migrate(targets, plan=executor.migration_plan(targets))
    return timings

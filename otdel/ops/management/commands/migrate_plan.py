"""``manage.py migrate_plan [--rehearse]``: which migrations `migrate` would run, without running any."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from otdel.ops.archive import ArchiveError
from otdel.ops.upgrade import heavy_migration_tables, rehearse_migrations


class Command(BaseCommand):
    help = (
        "List the migrations `manage.py migrate` would apply to this database (a dry run), with the "
        "row counts of the tables they change; --rehearse also applies them to a throw-away copy of "
        "the database and times each one."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--rehearse",
            action="store_true",
            help="time the migrations on a copy (the database is not changed)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        rows: list[dict[str, Any]] = []
        for migration, backwards in plan:
            tables = heavy_migration_tables(migration, connection)
            rows.append(
                {
                    "app": migration.app_label,
                    "name": migration.name,
                    "backwards": backwards,
                    "atomic": migration.atomic,
                    "tables": tables,
                    "rows": sum(tables.values()),
                    "seconds": None,
                }
            )
        if rows and options["rehearse"]:
            try:
                timings = {(t.app, t.name): t.seconds for t in rehearse_migrations(options["database"])}
            except ArchiveError as exc:
                raise CommandError(f"rehearsal failed: {exc}") from exc
            for row in rows:
                row["seconds"] = timings.get((row["app"], row["name"]))
        if options["json"]:
            self.stdout.write(json.dumps({"pending": rows}, indent=2))
            return
        if not rows:
            self.stdout.write("No migrations to apply: the database is up to date.")
            return
        self.stdout.write(f"{len(rows)} migration(s) to apply:")
        for row in rows:
            size = ", ".join(f"{table}: {n} rows" for table, n in row["tables"].items()) or "new tables only"
            timed = f"; applied to a copy in {row['seconds']:.2f} s" if row["seconds"] is not None else ""
            self.stdout.write(f"  {row['app']}.{row['name']}  ({size}{timed})")
        if options["rehearse"]:
            total = sum(row["seconds"] or 0 for row in rows)
            self.stdout.write(
                f"All of them took {total:.1f} s on the copy; expect about as long on this machine."
            )
        self.stdout.write("Back up first (`manage.py backup`), then run `manage.py migrate`.")

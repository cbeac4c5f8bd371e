"""``manage.py migrate_plan``: which migrations `migrate` would run, without running any."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from otdel.ops.upgrade import heavy_migration_tables


class Command(BaseCommand):
    help = (
        "List the migrations `manage.py migrate` would apply to this database (a dry run), with the "
        "row counts of the tables they change, so an upgrade can be timed on a copy first."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--json", action="store_true", help="machine-readable output")

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
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps({"pending": rows}, indent=2))
            return
        if not rows:
            self.stdout.write("No migrations to apply: the database is up to date.")
            return
        self.stdout.write(f"{len(rows)} migration(s) to apply:")
        for row in rows:
            size = ", ".join(f"{table}: {n} rows" for table, n in row["tables"].items()) or "new tables only"
            self.stdout.write(f"  {row['app']}.{row['name']}  ({size})")
        self.stdout.write("Back up first (`manage.py backup`), then try `manage.py migrate` on a copy.")

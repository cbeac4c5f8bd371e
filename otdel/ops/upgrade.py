"""Upgrade helpers: which existing tables a pending migration rewrites, and how many rows they hold."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.migrations import Migration


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

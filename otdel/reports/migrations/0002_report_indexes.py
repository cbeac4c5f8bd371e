"""Indexes the reports need on other apps' tables (docs/reports.md, "Indexes").

Created with IF NOT EXISTS in plain SQL (the same statement on SQLite and PostgreSQL) so that the
models of crm and comms, owned by those apps, stay as they are.
"""

from django.db import migrations

INDEXES = [
    ("reports_deal_closed_at", "crm_deal", "closed_at"),
    ("reports_interaction_user_at", "comms_interaction", "user_id, occurred_at"),
    ("reports_interaction_routed_at", "comms_interaction", "routed_to_id, occurred_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("crm", "0001_initial"),
        ("comms", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, columns in INDEXES
    ]

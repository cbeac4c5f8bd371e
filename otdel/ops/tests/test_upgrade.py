"""migrate_plan: which migrations an upgrade will run, timed on a copy, the database untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from otdel.ops.models import Backup
from otdel.ops.tests.conftest import manage


@pytest.mark.django_db(transaction=True)
def test_migrate_plan_lists_and_rehearses_pending_migrations_without_applying_them(
    data_dir, tmp_path, restore_target
):
    # An installation one migration behind the code: a restored copy with the ops app's migration undone.
    call_command("backup", "--output", str(tmp_path / "out"))
    manage("restore", Backup.objects.get().location, env=restore_target.env)
    restore_target.execute(
        "DROP TABLE ops_backup",
        "DROP TABLE ops_heartbeat",
        "DROP TABLE ops_restorerecord",
        "DROP TABLE ops_schedulerlease",
        "DELETE FROM django_migrations WHERE app = 'ops'",
    )

    plan = json.loads(manage("migrate_plan", "--json", env=restore_target.env).stdout)
    assert [(m["app"], m["name"]) for m in plan["pending"]] == [("ops", "0001_initial")]

    rehearsed = manage("migrate_plan", "--rehearse", env=restore_target.env).stdout
    assert "ops.0001_initial" in rehearsed and "applied to a copy in" in rehearsed
    # The rehearsal ran on a copy: the installation still has the migration to apply.
    assert "ops.0001_initial" in manage("migrate_plan", env=restore_target.env).stdout
    assert restore_target.rows("SELECT COUNT(*) FROM django_migrations WHERE app = 'ops'") == [(0,)]


@pytest.mark.django_db(transaction=True)
def test_nothing_to_rehearse_on_an_up_to_date_database():
    from io import StringIO

    out = StringIO()
    call_command("migrate_plan", "--rehearse", stdout=out)
    assert "up to date" in out.getvalue()
    assert not list(Path("/tmp").glob("otdel-rehearsal-*"))

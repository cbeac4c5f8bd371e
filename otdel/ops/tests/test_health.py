"""/healthz for load balancers, the status page for administrators, /metrics for Prometheus."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from otdel.comms.models import IntakeLog
from otdel.ops import health
from otdel.ops.models import Backup, Heartbeat
from otdel.ops.services import SchedulerLock, heartbeat_beat


@pytest.fixture
def db_tasks(settings):
    """Tasks go to the database queue, so a worker process is needed (as in production)."""
    from asgiref.local import Local
    from django_tasks import task_backends

    def use(backend):
        settings.TASKS = {"default": {"BACKEND": backend, "QUEUES": ["default"]}}
        task_backends._settings = task_backends.settings = task_backends.configure_settings(None)
        task_backends._connections = Local()

    use("django_tasks_db.DatabaseBackend")
    yield
    use("django_tasks.backends.immediate.ImmediateBackend")


@pytest.fixture
def alive(db, db_tasks, settings):
    settings.OTDEL_HEALTH_MIN_FREE_MB = 1
    heartbeat_beat(name="worker")
    SchedulerLock(holder="node-a").hold()


def test_healthz_is_ok_without_login_and_says_nothing_secret(client, alive):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "worker", "scheduler", "intake", "disk"}
    assert all(check["ok"] for check in body["checks"].values())
    text = response.content.decode()
    for secret in ("node-a", "secret", "password", "postgres://", "/tmp", "sqlite3"):
        assert secret not in text
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_turns_unhealthy_when_the_worker_stops(client, alive, monkeypatch):
    Heartbeat.objects.filter(name="worker").update(beat_at=timezone.now() - datetime.timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["failing"] == ["worker"]
    assert body["checks"]["worker"]["heartbeat_age_seconds"] >= 600
    # A worker picks up its heartbeat task again: healthy again.
    from otdel.ops.tasks import worker_heartbeat

    worker_heartbeat.call()
    assert client.get("/healthz").status_code == 200


def test_healthz_names_every_failing_check(client, db_tasks, db, settings):
    settings.OTDEL_HEALTH_MIN_FREE_MB = 10**12  # more than any disk
    IntakeLog.objects.create(provider="generic", body="{}")
    IntakeLog.objects.filter().update(created_at=timezone.now() - datetime.timedelta(hours=1))
    body = client.get("/healthz").json()
    # Never seen a worker or a scheduler; a delivery waiting for an hour; not enough disk.
    assert body["failing"] == ["worker", "scheduler", "intake", "disk"]
    assert body["checks"]["intake"]["queue_depth"] == 1
    assert body["checks"]["worker"]["heartbeat_age_seconds"] is None


def test_pending_migrations_fail_the_check(client, alive, monkeypatch):
    monkeypatch.setattr(health, "_migrations_seen_applied", False)

    class Pending:
        def __init__(self, connection):
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            return [("crm.0099_future", False)]

    monkeypatch.setattr(health, "MigrationExecutor", Pending)
    body = client.get("/healthz").json()
    assert body["failing"] == ["migrations"] and body["checks"]["migrations"]["pending"] == 1


def test_with_tasks_run_in_process_no_worker_is_needed(client, db, settings):
    settings.OTDEL_HEALTH_MIN_FREE_MB = 1
    SchedulerLock(holder="node-a").hold()
    assert client.get("/healthz").status_code == 200


def test_status_page_shows_checks_and_the_last_backup_to_admins_only(client, admin_user, manager, alive):
    finished = timezone.make_aware(datetime.datetime(2026, 11, 30, 3, 5))
    Backup.objects.create(
        started_at=finished - datetime.timedelta(minutes=2),
        finished_at=finished,
        status=Backup.Status.OK,
        location="/srv/backups/otdel-backup-20261130T000300Z.tar",
        size=5 * 1024 * 1024,
    )
    client.force_login(manager)
    assert client.get("/settings/status/").status_code == 404
    client.force_login(admin_user)
    page = client.get("/settings/status/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "All checks pass" in html
    assert "30.11.2026" in html or "11/30/2026" in html
    assert "otdel-backup-20261130T000300Z.tar" in html
    assert 'data-check="worker" data-ok="1"' in html


def test_status_page_shows_each_pbx_link_with_its_last_error(client, admin_user, alive):
    from otdel.comms.models import TelephonyProvider

    TelephonyProvider.objects.create(
        kind="asterisk", name="Офисная АТС", key="office", last_error="AMI: connection refused"
    )
    TelephonyProvider.objects.create(kind="mango", name="Mango", key="mango", last_event_at=timezone.now())
    client.force_login(admin_user)
    html = client.get("/settings/status/").content.decode()
    assert "Офисная АТС" in html and "AMI: connection refused" in html
    assert "Mango" in html and "last event" in html
    # Not on /healthz: names and errors of integrations are for administrators only.
    assert "Офисная" not in client.get("/healthz").content.decode()


def test_back_up_now_from_the_status_page(client, admin_user, data_dir, settings, tmp_path):
    settings.OTDEL_BACKUP_DIR = str(tmp_path / "backups")
    client.force_login(admin_user)
    response = client.post("/settings/status/backup/")
    assert response.status_code == 302
    backup = Backup.objects.get()  # tasks run inline in tests
    assert backup.status == Backup.Status.OK and backup.location.startswith(str(tmp_path / "backups"))
    assert "otdel-backup-" in client.get("/settings/status/").content.decode()

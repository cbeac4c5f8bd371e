"""Restore a backup archive into an empty installation, then let apps re-apply what must not come back.

Other apps register callbacks that run after every restore, against the restored database::

    from otdel.ops.restore import register_after_restore

    def privacy_tombstones_apply(restored: RestoredArchive) -> None:
        ...  # destroy again the personal data destroyed after the backup was made

    register_after_restore(privacy_tombstones_apply)

(the personal-data app uses it so that data destroyed on request stays destroyed after a restore).
"""

from __future__ import annotations

import datetime
import getpass
import gzip
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from otdel.ops.archive import FILES_PART, PG_PART, SQLITE_PART, ArchiveError, extract_verified, pg_command_env

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoredArchive:
    archive: Path
    manifest: dict[str, Any]
    data_dir: Path
    messages: list[str] = field(default_factory=list)  # callbacks may add a line for the restore log


AfterRestore = Callable[[RestoredArchive], None]
_after_restore: list[AfterRestore] = []


def register_after_restore(callback: AfterRestore) -> None:
    """Run ``callback(restored)`` after each restore, in registration order, on the restored database."""
    if callback not in _after_restore:
        _after_restore.append(callback)


def after_restore_callbacks() -> list[AfterRestore]:
    return list(_after_restore)


# Left in place in a fresh data dir by settings (the generated key), collectstatic and the backups.
EMPTY_DATA_DIR_ALLOWS = {"secret_key", "static", "backups"}


def _data_dir_leftovers(data_dir: Path, db_file: Path | None) -> list[str]:
    if not data_dir.exists():
        return []
    leftovers = []
    for entry in data_dir.iterdir():
        if entry.name in EMPTY_DATA_DIR_ALLOWS or entry.name.startswith(("test-otdel-", ".otdel-restore-")):
            continue
        if db_file is not None and entry.name.startswith(db_file.name) and entry.parent == db_file.parent:
            continue  # the database file is judged by its tables below
        if entry.is_dir() and not any(entry.iterdir()):
            continue
        leftovers.append(entry.name)
    return sorted(leftovers)


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    with sqlite3.connect(str(path)) as db:
        return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def _newer_migrations(manifest: dict[str, Any]) -> list[str]:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, name in manifest.get("migrations", []) if (app, name) not in known]


def restore_archive(archive: Path, *, using: str = "default", actor: str = "") -> RestoredArchive:
    """Restore ``archive`` into this installation's data dir and database, which must be empty.

    Refuses (ArchiveError, nothing written) a damaged archive, one made by a newer Otdel (a
    migration this code does not have), one of another database vendor, or a non-empty target.
    """
    connection = connections[using]
    data_dir = Path(settings.DATA_DIR)
    db = connection.settings_dict
    db_file = Path(str(db["NAME"])).resolve() if connection.vendor == "sqlite" else None

    with tempfile.TemporaryDirectory(prefix=".otdel-restore-", dir=data_dir) as tmp:
        work = Path(tmp)
        manifest = extract_verified(archive, work)
        vendor = manifest["database"].get("vendor")
        if vendor != connection.vendor:
            raise ArchiveError(
                f"the archive holds a {vendor} database; this installation uses {connection.vendor}"
            )
        newer = _newer_migrations(manifest)
        if newer:
            raise ArchiveError(
                "the archive was made by a newer Otdel (migrations this code does not have: "
                + ", ".join(newer[:10])
                + "); upgrade the code first"
            )
        leftovers = _data_dir_leftovers(data_dir, db_file)
        if leftovers:
            raise ArchiveError(f"the data dir {data_dir} is not empty: {', '.join(leftovers[:10])}")
        if db_file is not None:
            if _sqlite_tables(db_file):
                raise ArchiveError(f"the database {db_file.name} is not empty")
        elif connection.introspection.table_names():
            raise ArchiveError(f"the database {db['NAME']} is not empty")

        connection.close()
        if db_file is not None:
            _restore_sqlite(work / SQLITE_PART, db_file)
        else:
            _restore_postgresql(work / PG_PART, db)
        _restore_files(work / FILES_PART, data_dir)

    restored = RestoredArchive(archive=archive, manifest=manifest, data_dir=data_dir)
    for callback in after_restore_callbacks():
        callback(restored)
    _log_restore(restored, actor=actor, using=using)
    return restored


def _restore_sqlite(packed: Path, db_file: Path) -> None:
    db_file.parent.mkdir(parents=True, exist_ok=True)
    partial = db_file.with_name(db_file.name + ".partial")
    with gzip.open(packed, "rb") as source, open(partial, "wb") as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
        target.flush()
        os.fsync(target.fileno())
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    os.replace(partial, db_file)


def _restore_postgresql(dump: Path, db: dict[str, Any]) -> None:
    args, env = pg_command_env(db)
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    command += [*args, "--dbname", str(db["NAME"]), str(dump)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError as exc:
        raise ArchiveError("pg_restore is not installed (Debian: apt-get install postgresql-client)") from exc
    if done.returncode != 0:
        raise ArchiveError(f"pg_restore failed: {done.stderr.strip()[:2000]}")


def _restore_files(packed: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(packed, "r:gz") as tar:
        # The "data" filter refuses absolute paths, "..", links out of the tree and device files.
        tar.extractall(data_dir, filter="data")


def _log_restore(restored: RestoredArchive, *, actor: str, using: str) -> None:
    from otdel.ops.models import RestoreRecord

    created = parse_datetime(str(restored.manifest.get("created_at", "")))
    actor = actor or f"{getpass.getuser()}@{os.uname().nodename}"
    RestoreRecord.objects.using(using).create(
        restored_at=timezone.now(),
        archive=restored.archive.name,
        archive_created_at=created,
        version=str(restored.manifest.get("otdel_version", ""))[:32],
        actor=actor[:200],
        detail={"files": restored.manifest.get("files"), "messages": restored.messages},
    )
    logger.warning(
        "restored %s (made %s by Otdel %s) by %s",
        restored.archive.name,
        created,
        restored.manifest.get("otdel_version"),
        actor,
    )


def backups_interrupted_by_restore(restored: RestoredArchive) -> None:
    """The backup that made this archive was still running when it copied the database: close it."""
    from otdel.ops.models import Backup

    made = parse_datetime(str(restored.manifest.get("created_at", "")))
    running = Backup.objects.filter(status=Backup.Status.RUNNING)
    if made is not None:
        running.filter(started_at__gte=made - datetime.timedelta(days=1), started_at__lte=made).update(
            status=Backup.Status.OK, finished_at=made, location=str(restored.archive)
        )
    Backup.objects.filter(status=Backup.Status.RUNNING).update(
        status=Backup.Status.FAILED, error="interrupted: the database was restored from an archive"
    )


register_after_restore(backups_interrupted_by_restore)

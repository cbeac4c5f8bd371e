"""The backup archive: one tar holding the database, the files of the data dir and a manifest.

Layout (format 1)::

    manifest.json          version, migrations, database vendor, SHA-256 and size of each part
    database.sqlite3.gz    SQLite: a copy made with SQLite's online backup API (readers and writers go on)
    database.pgdump        PostgreSQL: ``pg_dump --format=custom``
    files.tar.gz           everything under OTDEL_DATA_DIR but the database, static files and backups

The database is copied before the files: a file is written before the row that names it commits,
so every file a copied row points to is already there when the files are read.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from otdel.ops.conf import otdel_version

FORMAT = 1
PREFIX = "otdel-backup-"
SUFFIX = ".tar"
MANIFEST = "manifest.json"
FILES_PART = "files.tar.gz"
SQLITE_PART = "database.sqlite3.gz"
PG_PART = "database.pgdump"
CHUNK = 1024 * 1024
# gzip level 1: on a 50 MB SQLite file a third of level 6's time for 10% more bytes; recordings and
# PDFs in the files part are compressed already (bench/backup.py, docs/performance.md).


class ArchiveError(Exception):
    """An archive that cannot be made or must not be restored; the message says why."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def archive_name(at: datetime.datetime) -> str:
    return f"{PREFIX}{at.astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"


def archive_time(name: str) -> datetime.datetime | None:
    """The moment in an archive's name, or None for a name that is not an Otdel archive."""
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return None
    try:
        stamp = datetime.datetime.strptime(name[len(PREFIX) : -len(SUFFIX)], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return stamp.replace(tzinfo=datetime.UTC)


# --- the database part ---------------------------------------------------------------------------


def pg_command_env(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for pg_dump / pg_restore; the password goes in the environment only."""
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def dump_database(work: Path, using: str = "default") -> str:
    """Copy the database into ``work``; returns the part's name."""
    connection = connections[using]
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        copy = work / "database.sqlite3"
        source = sqlite3.connect(str(db["NAME"]), timeout=60)
        target = sqlite3.connect(str(copy))
        try:
            # One step: a consistent snapshot taken under a read transaction; WAL lets writers go on.
            source.backup(target)
        finally:
            target.close()
            source.close()
        with open(copy, "rb") as raw, gzip.open(work / SQLITE_PART, "wb", compresslevel=1) as packed:
            shutil.copyfileobj(raw, packed, CHUNK)
        copy.unlink()
        return SQLITE_PART
    if connection.vendor == "postgresql":
        args, env = pg_command_env(db)
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *args]
        command += ["--file", str(work / PG_PART), str(db["NAME"])]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=6 * 3600)
        except FileNotFoundError as exc:
            raise ArchiveError(
                "pg_dump is not installed (Debian: apt-get install postgresql-client)"
            ) from exc
        if done.returncode != 0:
            raise ArchiveError(f"pg_dump failed: {done.stderr.strip()[:2000]}")
        return PG_PART
    raise ArchiveError(f"backups of a {connection.vendor} database are not supported")


def applied_migrations(using: str = "default") -> list[list[str]]:
    recorder = MigrationRecorder(connections[using])
    return sorted([app, name] for app, name in recorder.applied_migrations())


# --- the files part ------------------------------------------------------------------------------


def _skipped_paths(data_dir: Path, using: str) -> set[Path]:
    skipped = {Path(settings.STATIC_ROOT).resolve()}
    from otdel.ops.conf import backup_dir

    skipped.add(backup_dir())
    connection = connections[using]
    if connection.vendor == "sqlite":
        name = Path(str(connection.settings_dict["NAME"])).resolve()
        skipped |= {Path(f"{name}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")}
    return skipped


def data_files(data_dir: Path, using: str = "default") -> Iterable[Path]:
    """Every file of the data dir that belongs in a backup, in a stable order."""
    skipped = _skipped_paths(data_dir, using)
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if (here / d).resolve() not in skipped)
        for name in sorted(files):
            path = here / name
            # Other databases (test runs) and half-written archives are not the installation's data.
            if path.resolve() in skipped or name.startswith("test-otdel-") or name.endswith(".partial"):
                continue
            yield path


def pack_files(work: Path, data_dir: Path, using: str = "default") -> int:
    count = 0
    with tarfile.open(work / FILES_PART, "w:gz", compresslevel=1) as tar:
        for path in data_files(data_dir, using):
            try:
                tar.add(path, arcname=str(path.relative_to(data_dir)), recursive=False)
            except FileNotFoundError:
                continue  # deleted while we walked: it was not part of the copied database either
            count += 1
    return count


# --- the archive ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    path: Path
    manifest: dict[str, Any]
    size: int
    sha256: str


def make_archive(output_dir: Path, *, using: str = "default") -> Made:
    """Write one archive into ``output_dir`` (atomically: a reader never sees half of one)."""
    # The archive holds every client's personal data and the secret key: owner only.
    output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = timezone.now()
    data_dir = Path(settings.DATA_DIR)
    with tempfile.TemporaryDirectory(prefix=".otdel-backup-", dir=output_dir) as tmp:
        work = Path(tmp)
        migrations = applied_migrations(using)
        database_part = dump_database(work, using)
        file_count = pack_files(work, data_dir, using)
        parts = {
            part: {"sha256": sha256_file(work / part), "size": (work / part).stat().st_size}
            for part in (database_part, FILES_PART)
        }
        manifest = {
            "format": FORMAT,
            "otdel_version": otdel_version(),
            "created_at": now.isoformat(),
            "host": socket.gethostname(),
            "database": {"vendor": connections[using].vendor, "part": database_part},
            "migrations": migrations,
            "files": file_count,
            "parts": parts,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        final = output_dir / archive_name(now)
        partial = output_dir / f"{final.name}.partial"
        partial.touch(mode=0o600)
        with tarfile.open(partial, "w") as tar:
            for part in (MANIFEST, database_part, FILES_PART):
                tar.add(work / part, arcname=part)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, final)
    return Made(final, manifest, final.stat().st_size, sha256_file(final))


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        raw = tar.extractfile(member)
        if raw is None:
            raise KeyError(MANIFEST)
        manifest = json.loads(raw.read().decode())
    except (KeyError, ValueError, tarfile.TarError) as exc:
        raise ArchiveError(
            "the archive has no readable manifest.json: not an Otdel backup, or damaged"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"unknown archive format {manifest.get('format')!r}")
    return manifest


def extract_verified(archive: Path, work: Path) -> dict[str, Any]:
    """Unpack the parts into ``work``, checking each against the manifest; returns the manifest."""
    try:
        tar = tarfile.open(archive, "r:")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"cannot read {archive.name}: {exc}") from exc
    with tar:
        manifest = read_manifest(tar)
        parts = manifest.get("parts") or {}
        expected = {manifest.get("database", {}).get("part"), FILES_PART}
        if set(parts) != expected or None in expected:
            raise ArchiveError("the manifest does not list the database and files parts")
        for part, meta in parts.items():
            digest = hashlib.sha256()
            try:
                source = tar.extractfile(part)
                if source is None:
                    raise KeyError(part)
                with source, open(work / part, "wb") as target:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        target.write(chunk)
            except (KeyError, OSError, tarfile.TarError, EOFError) as exc:
                raise ArchiveError(f"part {part} is missing or damaged: {exc}") from exc
            if digest.hexdigest() != meta.get("sha256"):
                raise ArchiveError(f"checksum of {part} does not match the manifest: the archive is damaged")
    return manifest

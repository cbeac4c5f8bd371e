"""Backups made while Otdel writes restore with every committed row and file; bad archives are refused."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import close_old_connections, connection

from otdel.crm.models import Contact
from otdel.ops.archive import FILES_PART, MANIFEST, ArchiveError, extract_verified
from otdel.ops.models import Backup
from otdel.ops.tests.conftest import manage


class ContactWriter(threading.Thread):
    """Writes a file, then commits the contact that names it, again and again until stopped."""

    def __init__(self, media: Path) -> None:
        super().__init__(daemon=True)
        self.media = media
        self.committed: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            n = 0
            while not self.stop.is_set():
                name = f"writer-{n:05d}"
                (self.media / "attachments").mkdir(exist_ok=True)
                (self.media / "attachments" / f"{name}.txt").write_text(f"file of {name}")
                Contact.objects.create(full_name=name, comment=f"attachments/{name}.txt")
                self.committed.append(name)
                n += 1
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            close_old_connections()
            connection.close()


@pytest.mark.django_db(transaction=True)
def test_backup_while_contacts_are_written_restores_every_committed_row_and_file(
    data_dir, tmp_path, restore_target
):
    Contact.objects.create(full_name="before the backup")
    (data_dir / "media" / "documents").mkdir()
    (data_dir / "media" / "documents" / "contract.pdf").write_bytes(b"%PDF-1.7 contract")

    writer = ContactWriter(data_dir / "media")
    writer.start()
    while len(writer.committed) < 20 and writer.error is None:
        writer.stop.wait(0.01)
    committed_before = list(writer.committed)
    call_command("backup", "--output", str(tmp_path / "out"))
    writer.stop.set()
    writer.join()
    assert writer.error is None
    assert len(writer.committed) > len(committed_before)

    backup = Backup.objects.get()
    assert backup.status == Backup.Status.OK
    archive = Path(backup.location)
    assert archive.parent == tmp_path / "out"
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data inside: owner only
    assert backup.manifest["database"]["vendor"] == connection.vendor
    assert ["ops", "0001_initial"] in backup.manifest["migrations"]

    done = manage("restore", str(archive), env=restore_target.env)
    assert "restored" in done.stdout

    restored = {name for (name,) in restore_target.rows("SELECT full_name FROM crm_contact")}
    # Everything committed before the backup began is there...
    assert {"before the backup", *committed_before} <= restored
    # ...and what is there is a consistent prefix of what the writer committed, each with its file.
    written = [name for name in writer.committed if name in restored]
    assert written == writer.committed[: len(written)]
    for name in written:
        assert (
            restore_target.data_dir / "media" / "attachments" / f"{name}.txt"
        ).read_text() == f"file of {name}"
    assert (
        restore_target.data_dir / "media" / "documents" / "contract.pdf"
    ).read_bytes() == b"%PDF-1.7 contract"
    assert (restore_target.data_dir / "secret_key").read_text() == "test-secret"
    # The restore is logged in the restored database, and the backup that made the archive shows as done.
    assert restore_target.rows("SELECT archive FROM ops_restorerecord") == [(archive.name,)]
    assert restore_target.rows("SELECT status FROM ops_backup") == [("ok",)]

    # The restored installation is complete: nothing left to migrate.
    plan = manage("migrate_plan", env=restore_target.env)
    assert "up to date" in plan.stdout
    # And a second restore into it is refused: it is not empty any more.
    again = manage("restore", str(archive), env=restore_target.env, check=False)
    assert again.returncode != 0 and "not empty" in again.stderr


def _corrupt(archive: Path, part: str) -> Path:
    """A copy of ``archive`` with one byte of ``part`` flipped."""
    broken = archive.with_name("broken.tar")
    with tarfile.open(archive) as source, tarfile.open(broken, "w") as target:
        for member in source.getmembers():
            data = bytearray(source.extractfile(member).read())  # type: ignore[union-attr]
            if member.name == part:
                data[len(data) // 2] ^= 0xFF
            target.addfile(member, io.BytesIO(bytes(data)))
    return broken


@pytest.fixture
def archive(data_dir, tmp_path) -> Path:
    (data_dir / "media" / "a.txt").write_text("a")
    call_command("backup", "--output", str(tmp_path / "out"))
    return Path(Backup.objects.get().location)


@pytest.mark.django_db(transaction=True)
def test_a_corrupted_archive_is_refused_and_nothing_is_restored(archive, restore_target):
    with tarfile.open(archive) as tar:
        database_part = json.loads(tar.extractfile(MANIFEST).read())["database"]["part"]  # type: ignore[union-attr]
    for part in (database_part, FILES_PART):
        broken = _corrupt(archive, part)
        done = manage("restore", str(broken), env=restore_target.env, check=False)
        assert done.returncode != 0
        assert f"checksum of {part} does not match" in done.stderr
        assert not (restore_target.data_dir / "media").exists()

    truncated = archive.with_name("truncated.tar")
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    done = manage("restore", str(truncated), env=restore_target.env, check=False)
    assert done.returncode != 0 and "not restored" in done.stderr
    assert not (restore_target.data_dir / "media").exists()


@pytest.mark.django_db(transaction=True)
def test_an_archive_from_a_newer_otdel_is_refused(archive, tmp_path, restore_target):
    newer = tmp_path / "newer.tar"
    with tarfile.open(archive) as source, tarfile.open(newer, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == MANIFEST:
                manifest = json.loads(data)
                manifest["migrations"].append(["crm", "9999_from_the_future"])
                data = json.dumps(manifest).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    done = manage("restore", str(newer), env=restore_target.env, check=False)
    assert done.returncode != 0
    assert "newer Otdel" in done.stderr and "crm.9999_from_the_future" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_the_parts_are_checked_against_the_manifest(archive, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    manifest = extract_verified(archive, work)
    assert set(manifest["parts"]) == {manifest["database"]["part"], FILES_PART}
    with pytest.raises(ArchiveError, match="checksum"):
        extract_verified(_corrupt(archive, FILES_PART), work)


@pytest.mark.django_db(transaction=True)
def test_a_failed_backup_is_recorded_with_its_error(data_dir, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the output directory should be")
    with pytest.raises(CommandError, match="backup failed"):
        call_command("backup", "--output", str(blocked))
    backup = Backup.objects.get()
    assert backup.status == Backup.Status.FAILED and backup.error

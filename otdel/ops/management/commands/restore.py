"""``manage.py restore ARCHIVE``: restore a backup into an empty data dir and database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from otdel.ops.archive import ArchiveError
from otdel.ops.restore import restore_archive


class Command(BaseCommand):
    help = (
        "Restore an archive made by `manage.py backup` into this installation's data dir "
        "(OTDEL_DATA_DIR) and database (DATABASE_URL), both empty. Refuses a damaged archive and one "
        "made by a newer Otdel."
    )
    requires_system_checks: list[str] = []  # the database is empty: checks that read it would fail

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("archive", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        archive: Path = options["archive"].resolve()
        if not archive.is_file():
            raise CommandError(f"{archive} is not a file")
        try:
            restored = restore_archive(archive)
        except ArchiveError as exc:
            raise CommandError(f"not restored: {exc}") from exc
        manifest = restored.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"restored {archive.name}: made {manifest.get('created_at')} by Otdel "
                f"{manifest.get('otdel_version')}, {manifest.get('files')} files"
            )
        )
        for line in restored.messages:
            self.stdout.write(line)
        self.stdout.write("next: `manage.py migrate` if this code is newer, then start Otdel")

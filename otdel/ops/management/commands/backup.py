"""``manage.py backup [--output DIR] [--rotate]``: write one archive of the database and the data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from otdel.ops.archive import ArchiveError
from otdel.ops.services import backup_run


class Command(BaseCommand):
    help = (
        "Back up the database and the files under OTDEL_DATA_DIR into one archive with a manifest "
        "of checksums, while Otdel runs. Without --output it goes to S3 (OTDEL_BACKUP_S3_BUCKET) or "
        "OTDEL_BACKUP_DIR."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", type=Path, help="directory to write the archive into")
        parser.add_argument(
            "--rotate", action="store_true", help="then delete archives beyond the daily/weekly ones kept"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"].resolve() if options["output"] else None
        try:
            backup = backup_run(output=output, rotate_after=options["rotate"])
        except (ArchiveError, OSError) as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"{backup.location}"))
        self.stdout.write(f"{backup.size} bytes, sha256 {backup.sha256}")

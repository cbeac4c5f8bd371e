"""``manage.py remove_demo``: delete exactly what ``load_demo`` wrote, keep everything else."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from otdel.demo import manifest
from otdel.demo.models import DemoManifest


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _(
            "Remove the demo data: every record load_demo wrote (users, clients, deals, settings) and what "
            "belongs to them. Refuses if records made later depend on demo records."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not DemoManifest.objects.exists():
            raise CommandError(_("No demo data was loaded into this database (or it was removed already)."))
        try:
            removed = manifest.remove()
        except manifest.NotOnlyDemo as exc:
            raise CommandError(
                _(
                    "Nothing was removed: records made after the demo depend on demo records (%(tables)s). "
                    "Delete or reassign them first, or start over with an empty database."
                )
                % {"tables": exc}
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo data removed: %(count)s records.") % {"count": sum(removed.demo.values())}
            )
        )
        if removed.files:
            self.stdout.write(_("Files of the demo deleted: %(count)s.") % {"count": removed.files})
        if removed.followed:
            self.stdout.write(
                _("Also removed, as they belonged to demo records: %(tables)s.")
                % {
                    "tables": ", ".join(
                        f"{label}: {count}" for label, count in sorted(removed.followed.items())
                    )
                }
            )

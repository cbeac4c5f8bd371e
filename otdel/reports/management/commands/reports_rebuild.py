"""``manage.py reports_rebuild``: derive the stage history behind the funnel from the change log again."""

from typing import Any

from django.core.management.base import BaseCommand

from otdel.reports.history import history_rebuild


class Command(BaseCommand):
    help = "Rebuild the stage history (funnel, time in stage) from the change log."

    def handle(self, *args: Any, **options: Any) -> None:
        written = history_rebuild()
        self.stdout.write(f"stage visits written: {written}")

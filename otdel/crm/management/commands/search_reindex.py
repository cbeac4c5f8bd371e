"""Rebuild the search index of contacts, companies, deals and phones (after a bulk load or restore)."""

from typing import Any

from django.core.management.base import BaseCommand

from otdel.crm.search import reindex


class Command(BaseCommand):
    help = "Rebuild the search index (contacts, companies, deals, phones) from the records."

    def handle(self, *args: Any, **options: Any) -> None:
        done = reindex(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {done}"))

"""``manage.py load_demo``: fill an empty database with a believable demo sales department."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from otdel.demo import manifest, seed_apps
from otdel.demo import sales as demo


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        # Translated when asked for (argparse can't format lazy strings), in the active language.
        return _(
            "Load a demo company (users of every role, pipelines, companies, contacts, deals, leads, notes) "
            "into an empty database. The same data on every run."
        )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=_("Do nothing (and exit successfully) when the database already holds users or contacts."),
        )
        parser.add_argument(
            "--password",
            default=demo.DEMO_PASSWORD,
            help=_("Password of every demo user (default: %(default)s)."),
        )
        parser.add_argument(
            "--seed", type=int, default=demo.DEMO_SEED, help=_("Random seed of the demo data.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo.database_has_data():
            message = _("The database already holds users or contacts: the demo data was not loaded.")
            if options["if_empty"]:
                self.stdout.write(message)
                return
            # Refuse rather than mix invented clients into someone's real data or duplicate the demo.
            raise CommandError(message + " " + _("Load it into an empty database."))
        started = time.monotonic()
        before = manifest.snapshot()
        try:
            result = demo.load_demo(password=options["password"], seed=options["seed"])
        except ValidationError as exc:  # a --password the validators refuse
            raise CommandError(" ".join(exc.messages)) from exc
        seeded = seed_apps()
        manifest.record(before)  # what `manage.py remove_demo` deletes
        elapsed = time.monotonic() - started
        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Demo data loaded in %(seconds).1f s: %(users)s users, %(companies)s companies, "
                    "%(contacts)s contacts, %(deals)s deals, %(leads)s leads, %(notes)s notes."
                )
                % {"seconds": elapsed, **counts}
            )
        )
        self.stdout.write(_("Demo data of: %(apps)s.") % {"apps": ", ".join(seeded)})
        self.stdout.write("")
        self.stdout.write(_("Demo logins:"))
        width = max(len(login.username) for login in result.logins)
        for login in result.logins:
            password = login.password if login.password is not None else _("(existing account, unchanged)")
            self.stdout.write(
                f"  {login.username.ljust(width)} / {password} — {login.title}, {login.full_name}"
            )
        self.stdout.write("")
        self.stdout.write(
            _("Without the demo: `make run DEMO=0` on an empty database; `manage.py remove_demo` removes it.")
        )

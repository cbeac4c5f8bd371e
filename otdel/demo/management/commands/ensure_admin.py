"""``manage.py ensure_admin``: on a database without an administrator, ask for the first one
(what ``make run DEMO=0`` does before serving an empty Otdel)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils.translation import gettext as _

from otdel.accounts.models import Role, User


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _("Create the first administrator (asks for a login and password) unless one exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True).exists():
            return
        self.stdout.write(
            _(
                "No administrator yet: create the first one. After logging in, the setup checklist shows what to set."
            )
        )
        # Without a terminal (a script, CI): DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL give it.
        call_command("createsuperuser", interactive=sys.stdin.isatty())

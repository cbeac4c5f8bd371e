"""``manage.py two_factor_reset <username>``: forget a user's authenticator (the last administrator
lost the phone and the recovery codes); the next sign-in enrols a new one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otdel.accounts.models import User
from otdel.accounts.twofactor import two_factor_reset


class Command(BaseCommand):
    help = "Forget a user's authenticator and recovery codes; the next sign-in sets up a new one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username__iexact=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        two_factor_reset(user=user)
        self.stdout.write(f"Two-factor sign-in of {user.username} is reset.")

"""``manage.py sync_mail``: poll every active mailbox once (or keep polling with ``--loop``)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from otdel.comms.email.sync import SyncResult, mailbox_sync
from otdel.comms.models import Mailbox
from otdel.core.conf import int_setting


class Command(BaseCommand):
    help = "Poll the mailboxes over IMAP and put new mail on the client timelines; one line per mailbox."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--mailbox", help="only this address")
        parser.add_argument(
            "--loop", action="store_true", help="keep polling until stopped (Ctrl+C, SIGTERM)"
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between polls with --loop (default: OTDEL_MAIL_POLL_SECONDS, 60)",
        )
        parser.add_argument(
            "--max-runs", type=int, default=0, help="with --loop: stop after N polls (0: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        if interval is None:
            interval = float(int_setting("OTDEL_MAIL_POLL_SECONDS", 60))
        if not options["loop"]:
            self._poll(options["mailbox"])
            return
        stopping = False

        def stop(*_args: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        runs = 0
        while not stopping:
            if not connection.in_atomic_block:  # (tests run inside one transaction)
                close_old_connections()  # a long-running poller must not keep a dead connection
            self._poll(options["mailbox"])
            runs += 1
            if options["max_runs"] and runs >= options["max_runs"]:
                break
            deadline = time.monotonic() + max(0.0, interval)
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    def _poll(self, address: str | None) -> list[SyncResult]:
        mailboxes = Mailbox.objects.filter(is_active=True).select_related("queue")
        if address:
            mailboxes = Mailbox.objects.filter(address__iexact=address.strip()).select_related("queue")
            if not mailboxes.exists():
                raise CommandError(f"No mailbox {address}")
        results = []
        for mailbox in mailboxes:
            try:
                result = mailbox_sync(mailbox=mailbox)
            except Exception as exc:  # even the sync status could not be written: say so, go on
                result = SyncResult(mailbox=mailbox.address, errors=[f"{type(exc).__name__}: {exc}"])
            results.append(result)
            if result.ok:
                self.stdout.write(result.line())
            else:
                self.stderr.write(result.line())
        if not results:
            self.stdout.write("No active mailboxes.")
        return results

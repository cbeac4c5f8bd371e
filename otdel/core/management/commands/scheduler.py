"""Run periodic jobs: every second, enqueue the tasks whose time has come (see otdel.core.scheduler)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand

from otdel.core.scheduler import periodic_jobs, run_due
from otdel.ops.services import SchedulerLock


class Command(BaseCommand):
    help = "Enqueue periodic background jobs when they are due (mail polling and others)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="check once and exit")
        parser.add_argument("--tick", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        # Of all schedulers running (several nodes, a stray second `serve`), only the lease holder fires.
        lock = SchedulerLock()
        if options["once"]:
            if not lock.hold():
                self.stdout.write("another scheduler holds the lease; nothing enqueued")
                return
            for name in run_due():
                self.stdout.write(f"enqueued {name}")
            lock.release()
            return
        stopping = False

        def stop(*_args: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        names = ", ".join(job.name for job in periodic_jobs()) or "none"
        self.stdout.write(f"scheduler: periodic jobs: {names}")
        leading: bool | None = None
        while not stopping:
            holds = lock.hold()
            if holds != leading:
                leading = holds
                state = (
                    "holds the lease, firing jobs"
                    if holds
                    else "standing by: another scheduler holds the lease"
                )
                self.stdout.write(f"scheduler {lock.holder}: {state}", ending="\n")
                self.stdout.flush()
            if holds:
                run_due()
            time.sleep(options["tick"])
        lock.release()

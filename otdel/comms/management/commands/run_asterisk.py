"""``manage.py run_asterisk``: follow calls on Asterisk PBXs over AMI, as a long-running process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from otdel.comms.models import TelephonyProvider
from otdel.comms.telephony.asterisk.ami import AMIAuthError
from otdel.comms.telephony.asterisk.runner import AsteriskRunner, AsteriskSettings
from otdel.comms.telephony.common import provider_touch

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Connect to every active Asterisk provider over AMI and put its calls on the timeline. "
        "Runs until SIGTERM/SIGINT; run it as a managed service (systemd), one process for all PBXs."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--provider", help="only this provider (its URL key)")
        parser.add_argument(
            "--cdr-wait",
            type=float,
            default=3.0,
            help="seconds to wait for the CDR after a call's last hangup (default 3)",
        )
        parser.add_argument("--ping-interval", type=float, default=20.0, help="AMI keepalive, seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        providers = TelephonyProvider.objects.filter(kind=TelephonyProvider.Kind.ASTERISK, is_active=True)
        if options["provider"]:
            providers = providers.filter(key=options["provider"])
        found = list(providers.order_by("name"))
        if not found:
            raise CommandError(
                "No active Asterisk provider"
                + (f" with key “{options['provider']}”." if options["provider"] else ".")
            )
        runners = [
            AsteriskRunner(
                AsteriskSettings.of(provider),
                cdr_wait=options["cdr_wait"],
                ping_interval=options["ping_interval"],
            )
            for provider in found
        ]
        for runner in runners:
            s = runner.settings
            self.stdout.write(f"Following Asterisk “{s.key}” at {s.host}:{s.port} as {s.username}")
        failures = asyncio.run(self._run(runners))
        if failures and len(failures) == len(runners):
            raise CommandError("; ".join(failures))
        for failure in failures:
            self.stderr.write(failure)
        self.stdout.write("Stopped.")

    async def _run(self, runners: list[AsteriskRunner]) -> list[str]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
        try:
            results = await asyncio.gather(*(runner.run(stop) for runner in runners), return_exceptions=True)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
        failures = []
        for runner, result in zip(runners, results, strict=True):
            if isinstance(result, AMIAuthError):
                failures.append(str(result))
                await _record_error(runner.settings.pk, str(result))
            elif isinstance(result, BaseException):
                logger.error("asterisk %s stopped: %r", runner.settings.key, result, exc_info=result)
                failures.append(f"{runner.settings.key}: {result!r}")
        return failures


async def _record_error(provider_pk: int, error: str) -> None:
    from asgiref.sync import sync_to_async

    def write() -> None:
        provider = TelephonyProvider.objects.filter(pk=provider_pk).first()
        if provider is not None:
            provider_touch(provider, error=error)

    await sync_to_async(write, thread_sensitive=True)()

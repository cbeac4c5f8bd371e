"""Keeps one Asterisk provider connected: AMI events -> call tracker -> ``ingest_event``, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from otdel.accounts.models import User
from otdel.comms.models import TelephonyProvider
from otdel.comms.services import ingest_event
from otdel.comms.telephony.asterisk.ami import AMIClient
from otdel.comms.telephony.asterisk.tracker import CallTracker, CallUpdate
from otdel.comms.telephony.common import provider_string, provider_touch, with_queue
from otdel.comms.telephony.generic import call_event
from otdel.comms.telephony.recordings import recording_fetch_enqueue
from otdel.comms.telephony.ringing import call_signal

logger = logging.getLogger(__name__)

MONITOR_DIR = "/var/spool/asterisk/monitor/"


@dataclass(frozen=True)
class AsteriskSettings:
    """What the runner needs of the provider row, read once (no ORM inside the event loop)."""

    pk: int
    key: str
    source: str
    host: str
    port: int
    username: str
    secret: str
    recordings_base: str

    @classmethod
    def of(cls, provider: TelephonyProvider) -> AsteriskSettings:
        return cls(
            pk=provider.pk,
            key=provider.key,
            source=provider_string(provider),
            host=provider.ami_host or "127.0.0.1",
            port=provider.ami_port or 5038,
            username=provider.ami_username,
            secret=provider.ami_password,
            recordings_base=(provider.api_url or "").strip(),
        )


def recording_url(base: str, path: str) -> str:
    """Where the PBX's web server publishes a MixMonitor file, when the provider has an API/base URL."""
    if not base or not path:
        return ""
    relative = path[len(MONITOR_DIR) :] if path.startswith(MONITOR_DIR) else path.rsplit("/", 1)[-1]
    return base.rstrip("/") + "/" + urllib.parse.quote(relative.lstrip("/"))


def load_extensions() -> frozenset[str]:
    close_old_connections()  # a long-running process: drop connections the database has closed
    return frozenset(
        User.objects.filter(is_active=True, extension__isnull=False).values_list("extension", flat=True)
    )


def _deliver_fresh(settings: AsteriskSettings, update: CallUpdate) -> int | None:
    close_old_connections()  # a long-running process: drop connections the database has closed
    return deliver_update(settings, update)


def deliver_update(settings: AsteriskSettings, update: CallUpdate) -> int | None:
    """Store one call update through the one inbound path; then fetch its recording if it has one."""
    provider = TelephonyProvider.objects.filter(pk=settings.pk).first()
    if provider is None:
        return None
    event = call_event(
        provider=settings.source,
        call_id=update.linkedid,
        event=update.event,
        direction=update.direction,
        caller=update.caller,
        called=update.called,
        at=update.at,
        extension=update.extension,
        duration=update.duration,
        status=update.status,
        recording_url=update.recording_url,
        payload=update.payload,
    )
    interaction = ingest_event(with_queue(event, provider)).interaction
    call_signal(event)  # the ringing call on screen (comms/telephony/ringing.py)
    if update.event in ("ended", "recording"):
        recording_fetch_enqueue(interaction)
    return interaction.pk


class AsteriskRunner:
    """One provider's AMI connection, its call tracker and the ordered delivery of call updates."""

    def __init__(
        self,
        settings: AsteriskSettings,
        *,
        cdr_wait: float = 3.0,
        ping_interval: float = 20.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
        extensions_refresh: float = 60.0,
        deliver: Callable[[AsteriskSettings, CallUpdate], Awaitable[object]] | None = None,
    ) -> None:
        self.settings = settings
        self.extensions: frozenset[str] = frozenset()
        self.extensions_refresh = extensions_refresh
        self.tracker = CallTracker(
            is_extension=lambda value: value in self.extensions,
            cdr_wait=cdr_wait,
            recording_url=lambda path: recording_url(settings.recordings_base, path),
        )
        self.client = AMIClient(
            host=settings.host,
            port=settings.port,
            username=settings.username,
            secret=settings.secret,
            on_event=self._on_event,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            ping_interval=ping_interval,
            reconnect_min=reconnect_min,
            reconnect_max=reconnect_max,
        )
        self._deliver = deliver or sync_to_async(_deliver_fresh, thread_sensitive=True)
        self._queue: asyncio.Queue[CallUpdate] = asyncio.Queue()
        self.events_seen = 0
        self.delivered = 0
        self._last_touch = 0.0
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: stay connected, follow calls, store them. A refused login is raised."""
        self.extensions = await sync_to_async(load_extensions, thread_sensitive=True)()
        workers = [
            asyncio.create_task(self._consume(), name=f"asterisk-{self.settings.key}-deliver"),
            asyncio.create_task(self._tick(stop), name=f"asterisk-{self.settings.key}-tick"),
        ]
        try:
            await self.client.run(stop)
        finally:
            for update in self.tracker.flush():
                self._queue.put_nowait(update)
            await self._drain(timeout=10)
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            if self._background:
                await asyncio.gather(*self._background, return_exceptions=True)

    def _on_event(self, message: dict[str, str]) -> None:
        self.events_seen += 1
        for update in self.tracker.feed(message):
            self._queue.put_nowait(update)

    def _on_connect(self) -> None:
        self._touch(error="")

    def _on_disconnect(self, error: Exception | None) -> None:
        self._touch(error=str(error or "connection lost"))

    def _touch(self, *, error: str | None = None) -> None:
        key = self.settings.pk

        def write() -> None:
            provider = TelephonyProvider.objects.filter(pk=key).first()
            if provider is not None:
                provider_touch(provider, error=error or None)

        job = asyncio.get_running_loop().create_task(sync_to_async(write, thread_sensitive=True)())
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    async def _tick(self, stop: asyncio.Event) -> None:
        """Release ended calls whose CDR is late; refresh the list of extensions now and then."""
        refreshed = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(0.5, self.tracker.cdr_wait or 0.5))
            for update in self.tracker.expire():
                self._queue.put_nowait(update)
            if time.monotonic() - refreshed > self.extensions_refresh:
                refreshed = time.monotonic()
                with contextlib.suppress(Exception):
                    self.extensions = await sync_to_async(load_extensions, thread_sensitive=True)()

    async def _consume(self) -> None:
        while True:
            update = await self._queue.get()
            try:
                await self._deliver(self.settings, update)
                self.delivered += 1
            except Exception:  # a bad event is logged and skipped; the next calls still land
                logger.exception(
                    "asterisk %s: could not store %s of call %s",
                    self.settings.key,
                    update.event,
                    update.linkedid,
                )
            finally:
                self._queue.task_done()
            if time.monotonic() - self._last_touch > 30:
                self._last_touch = time.monotonic()
                self._touch()

    async def _drain(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

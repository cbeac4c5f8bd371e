"""One reader per process that fans pushed messages out to the open streams of that process.

Every SSE stream subscribes here with a callback; one background thread reads new ``LiveEvent`` rows
(``id > cursor``, an index range scan) every ``POLL_SECONDS`` while anyone listens, and hands each
row to the streams of its user. So a process with a thousand open tabs asks the database one small
question four times a second through one connection, and no stream holds a connection or a thread
of its own (under ASGI; see docs/live.md). The thread stops, closing its connection, once the last
stream has gone for ``IDLE_SECONDS``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import Max

from otdel.live.models import LiveEvent

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
IDLE_SECONDS = 30.0
BATCH = 1000
CURSOR_CHECK_POLLS = 40


@dataclass(frozen=True)
class Message:
    id: int
    user_id: int
    kind: str
    data: dict[str, Any]


Deliver = Callable[[Message], None]


class Hub:
    def __init__(self, poll_seconds: float = POLL_SECONDS, *, reader: bool = True) -> None:
        self.poll_seconds = poll_seconds
        self.reader = reader  # False: nobody reads unless ``poll()`` is called (tests)
        self._lock = threading.Lock()
        self._subscribers: dict[int, dict[int, Deliver]] = {}
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._cursor: int | None = None
        self.polls = 0  # read by tests and the benchmark
        self._stopping = False

    # --- streams -------------------------------------------------------------------------------

    def subscribe(self, user_id: int, deliver: Deliver, *, after: int | None = None) -> tuple[int, int]:
        """Start handing ``user_id``'s new messages to ``deliver`` (called from the hub's thread).

        ``after``: the newest id the stream covers itself (its replay starts there). A reader
        that has not read yet starts from it, so a row written between the stream's replay and the
        reader's first poll is not skipped (the stream drops what it already sent)."""
        with self._lock:
            if self._cursor is None and after is not None:
                self._cursor = after
            token = next(self._tokens)
            self._subscribers.setdefault(user_id, {})[token] = deliver
            if self.reader and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="otdel-live-hub", daemon=True)
                self._thread.start()
        return user_id, token

    def unsubscribe(self, subscription: tuple[int, int]) -> None:
        user_id, token = subscription
        with self._lock:
            streams = self._subscribers.get(user_id, {})
            streams.pop(token, None)
            if not streams:
                self._subscribers.pop(user_id, None)

    def stop(self, timeout: float = 5.0) -> None:
        """Forget every stream and wait for the reader to end (tests: before the database is emptied)."""
        with self._lock:
            self._subscribers.clear()
            thread, self._stopping = self._thread, True
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._stopping, self._cursor = False, None

    def reset(self) -> None:
        """Read from the newest row on (tests empty the database between them)."""
        self._cursor = None

    def streams(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())

    # --- the reader ----------------------------------------------------------------------------

    def _run(self) -> None:
        idle_since: float | None = None
        failures = 0
        try:
            while True:
                if self._stopping:
                    with self._lock:
                        self._thread = None
                    return
                if self.streams() == 0:
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since >= IDLE_SECONDS:
                        with self._lock:
                            if not self._subscribers:
                                # A later start reads from the newest row: new streams replay
                                # what they missed themselves (``replay``).
                                self._thread, self._cursor = None, None
                                return
                else:
                    idle_since = None
                    try:
                        close_old_connections()  # drop a connection the database has closed
                        self.poll()
                        failures = 0
                    except Exception as exc:
                        failures += 1
                        # The first failure with its traceback; a database that stays away, once a minute.
                        if failures == 1 or failures % 60 == 0:
                            logger.warning(
                                "reading live events failed (%s); trying again", exc, exc_info=failures == 1
                            )
                        connection.close()
                        time.sleep(1.0)
                time.sleep(self.poll_seconds)
        finally:
            connection.close()

    def poll(self) -> int:
        """Deliver the rows written since the last poll; returns how many were read."""
        if self._cursor is None:
            self._cursor = LiveEvent.objects.aggregate(last=Max("id"))["last"] or 0
        rows = list(
            LiveEvent.objects.filter(id__gt=self._cursor)
            .order_by("id")
            .values_list("id", "user_id", "kind", "data")[:BATCH]
        )
        self.polls += 1
        if not rows and self.polls % CURSOR_CHECK_POLLS == 0:
            # Ids only grow, unless the database was restored or emptied: then start from its end.
            newest = LiveEvent.objects.aggregate(last=Max("id"))["last"] or 0
            if newest < self._cursor:
                self._cursor = newest
        for pk, user_id, kind, data in rows:
            self._cursor = pk
            with self._lock:
                targets = list(self._subscribers.get(user_id, {}).values())
            for deliver in targets:
                try:
                    deliver(Message(pk, user_id, kind, data))
                except Exception:
                    logger.exception("a live stream could not take message %s", pk)
        return len(rows)


hub = Hub()


def last_id() -> int:
    """The newest message id: a new stream starts after it."""
    return LiveEvent.objects.aggregate(last=Max("id"))["last"] or 0


def replay(user_id: int, after: int, limit: int = 50) -> list[Message]:
    """Messages for ``user_id`` newer than ``after`` (a reconnecting tab's Last-Event-ID, or the
    newest id when the stream opened: what was written while it subscribed)."""
    rows = (
        LiveEvent.objects.filter(user_id=user_id, id__gt=after)
        .order_by("id")
        .values_list("id", "user_id", "kind", "data")[:limit]
    )
    return [Message(*row) for row in rows]

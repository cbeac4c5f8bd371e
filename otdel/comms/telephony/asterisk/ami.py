"""A small asyncio client of the Asterisk Manager Interface (AMI): login, actions, events, reconnects.

The wire format: after a one-line banner ("Asterisk Call Manager/7.0.3") both sides exchange
messages of ``Key: Value`` lines ended by an empty line. Actions carry an ``ActionID`` that the
matching ``Response`` repeats; everything else the server sends is an ``Event``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

Message = dict[str, str]
EventHandler = Callable[[Message], None]


class AMIError(Exception):
    """Talking to the AMI failed."""


class AMIConnectionLost(AMIError):
    """The connection closed or stopped answering."""


class AMIAuthError(AMIError):
    """Asterisk refused the login: wrong user name or secret, or the user may not connect from here."""


class AMIActionError(AMIError):
    """Asterisk answered an action with ``Response: Error``."""

    def __init__(self, action: str, response: Message) -> None:
        self.response = response
        super().__init__(f"{action}: {response.get('Message') or 'error'}")


def encode_message(fields: Mapping[str, Any]) -> bytes:
    """Serialize an action; a list value repeats the key (e.g. several ``Variable`` lines)."""
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            text = str(item).replace("\r", " ").replace("\n", " ")
            lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_message(lines: list[str]) -> Message:
    """``Key: Value`` lines -> dict. A repeated key (ChanVariable, Output) keeps every value, joined by newlines."""
    message: Message = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        message[key] = f"{message[key]}\n{value}" if key in message else value
    return message


class AMIClient:
    """One AMI connection with automatic reconnects.

    ``run(stop)`` connects, logs in and keeps the connection: a dropped or silent connection (the
    Ping keepalive gets no answer) is re-established with exponential backoff until ``stop`` is set.
    Events go to ``on_event`` (called synchronously in the reading loop: keep it quick).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        events: bool = True,
        on_event: EventHandler | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[Exception | None], None] | None = None,
        timeout: float = 10.0,
        ping_interval: float = 20.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.events = events
        self.on_event = on_event
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.timeout = timeout
        self.ping_interval = ping_interval
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.banner = ""
        self.logins = 0
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._closed.is_set()

    # --- one connection ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection, read the banner and log in; raises AMIAuthError on a refused login."""
        await self.close()
        self._closed = asyncio.Event()
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
            self._reader = reader
            banner = await asyncio.wait_for(reader.readline(), self.timeout)
        except (OSError, TimeoutError) as exc:
            await self.close()
            raise AMIConnectionLost(
                f"cannot connect to the AMI at {self.where}: {exc or type(exc).__name__}"
            ) from exc
        self.banner = banner.decode("utf-8", "replace").strip()
        if not self.banner.startswith("Asterisk Call Manager"):
            await self.close()
            raise AMIError(
                f"{self.where} is not an Asterisk Manager Interface (it said {self.banner[:80]!r})"
            )
        self._read_task = asyncio.create_task(self._read_loop(), name=f"ami-read-{self.where}")
        try:
            response = await self.action(
                "Login", Username=self.username, Secret=self.secret, Events="on" if self.events else "off"
            )
        except AMIActionError as exc:
            await self.close()
            raise AMIAuthError(
                f"Asterisk at {self.where} refused the AMI login of user “{self.username}”: "
                f"{exc.response.get('Message') or 'Authentication failed'}. Check the user name and secret "
                "in manager.conf and the provider settings."
            ) from exc
        except AMIError:
            await self.close()
            raise
        self.logins += 1
        logger.info("AMI %s: logged in as %s (%s)", self.where, self.username, response.get("Message", ""))

    async def action(self, name: str, *, timeout: float | None = None, **fields: Any) -> Message:
        """Send an action and wait (bounded) for its response."""
        if self._writer is None or self._closed.is_set():
            raise AMIConnectionLost(f"not connected to the AMI at {self.where}")
        action_id = f"otdel-{next(self._ids)}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        try:
            self._writer.write(encode_message({"Action": name, "ActionID": action_id, **fields}))
            await self._writer.drain()
            response = await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError as exc:
            raise AMIConnectionLost(f"no answer to {name} from the AMI at {self.where}") from exc
        except (OSError, ConnectionError) as exc:
            raise AMIConnectionLost(f"the AMI connection to {self.where} broke: {exc}") from exc
        finally:
            self._pending.pop(action_id, None)
        if response.get("Response", "").lower() == "error":
            raise AMIActionError(name, response)
        return response

    async def close(self) -> None:
        """Drop the connection (no Logoff: use ``logoff`` for a polite goodbye)."""
        self._closed.set()
        writer, self._writer = self._writer, None
        if self._read_task is not None and self._read_task is not asyncio.current_task():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._read_task
        self._read_task = None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        self._fail_pending(AMIConnectionLost(f"the AMI connection to {self.where} closed"))

    async def logoff(self) -> None:
        with contextlib.suppress(AMIError):
            await self.action("Logoff", timeout=2)
        await self.close()

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        lines: list[str] = []
        try:
            while True:
                raw = await self._reader.readline()
                if not raw:
                    break  # EOF: the server closed the connection
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line:
                    lines.append(line)
                    continue
                if lines:
                    self._dispatch(parse_message(lines))
                    lines = []
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            logger.info("AMI %s: read failed: %s", self.where, exc)
        finally:
            self._closed.set()
            self._fail_pending(AMIConnectionLost(f"the AMI at {self.where} closed the connection"))

    def _dispatch(self, message: Message) -> None:
        action_id = message.get("ActionID", "")
        # OriginateResponse is an event that also has a Response line: events first.
        if "Event" not in message and "Response" in message and action_id in self._pending:
            future = self._pending[action_id]
            if not future.done():
                future.set_result(message)
            return
        if "Event" in message and self.on_event is not None:
            try:
                self.on_event(message)
            except Exception:  # one odd event must not kill the connection
                logger.exception("AMI %s: event handler failed on %s", self.where, message.get("Event"))

    # --- a kept connection -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set. A refused login is raised (retrying would not help)."""
        delay = self.reconnect_min
        while not stop.is_set():
            error: Exception | None = None
            try:
                await self.connect()
                delay = self.reconnect_min
                if self.on_connect is not None:
                    self.on_connect()
                await self._hold(stop)
            except AMIAuthError:
                raise
            except (AMIError, OSError) as exc:
                error = exc
                logger.warning("AMI %s: %s", self.where, exc)
            finally:
                await self.close()
            if stop.is_set():
                break
            if self.on_disconnect is not None:
                self.on_disconnect(error)
            logger.info("AMI %s: reconnecting in %.1f s", self.where, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, self.reconnect_max)

    async def _hold(self, stop: asyncio.Event) -> None:
        """Keep pinging until the connection closes or we are told to stop."""
        closed = asyncio.create_task(self._closed.wait())
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                done, _pending = await asyncio.wait(
                    {closed, stopping}, timeout=self.ping_interval, return_when=asyncio.FIRST_COMPLETED
                )
                if stopping in done:
                    with contextlib.suppress(AMIError):
                        await self.action("Logoff", timeout=2)
                    return
                if closed in done:
                    raise AMIConnectionLost(f"the AMI at {self.where} closed the connection")
                await self.action("Ping")  # raises AMIConnectionLost when the server went silent
        finally:
            for waiter in (closed, stopping):
                waiter.cancel()


async def ami_originate(
    *,
    host: str,
    port: int,
    username: str,
    secret: str,
    fields: Mapping[str, Any],
    timeout: float = 10.0,
) -> Message:
    """Log in (events off), send one Originate, wait (bounded) for Asterisk to accept it, log off."""
    client = AMIClient(host=host, port=port, username=username, secret=secret, events=False, timeout=timeout)
    await client.connect()
    try:
        return await client.action("Originate", timeout=timeout, **fields)
    finally:
        await client.logoff()

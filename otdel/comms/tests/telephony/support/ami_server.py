"""A fake Asterisk Manager Interface on 127.0.0.1 speaking the real wire protocol, for tests.

It runs its own event loop in a thread, so both sync tests and code running its own loop (the
runner, ``manage.py run_asterisk``) can talk to it. Everything it does is bounded in time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from otdel.comms.telephony.asterisk.ami import encode_message, parse_message

BANNER = b"Asterisk Call Manager/7.0.3\r\n"
HERE = Path(__file__).parent


def load_transcript(name: str) -> list[str]:
    """A recorded event transcript: messages separated by empty lines, as Asterisk sends them."""
    text = (HERE / name).read_text(encoding="utf-8")
    return [block.strip("\n") for block in text.split("\n\n") if block.strip()]


def wire(blocks: list[str]) -> bytes:
    return b"".join(block.replace("\n", "\r\n").encode() + b"\r\n\r\n" for block in blocks)


class FakeAMI:
    def __init__(self, *, username: str = "otdel", secret: str = "s3cret") -> None:
        self.username, self.secret = username, secret
        self.port = 0
        self.actions: list[dict[str, str]] = []
        self.logins = 0
        self.failed_logins = 0
        self.answer_pings = True
        self.answer_originate = True
        self._clients: list[asyncio.StreamWriter] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-ami")
        self._server: asyncio.AbstractServer | None = None

    # --- lifecycle (called from the test thread) -----------------------------------------------

    def start(self) -> FakeAMI:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        await self._drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # --- what a test does ------------------------------------------------------------------------

    def send(self, blocks: list[str]) -> None:
        """Write events to every logged-in client that asked for events."""
        self._call(self._send(wire(blocks)))

    def drop(self) -> None:
        """Cut every client connection, as a restarting Asterisk or a broken network would."""
        self._call(self._drop())

    def wait_logins(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.logins < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} AMI logins, saw {self.logins}")
            time.sleep(0.01)

    def actions_named(self, name: str) -> list[dict[str, str]]:
        return [a for a in self.actions if a.get("Action", "").lower() == name.lower()]

    # --- the protocol ----------------------------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        for writer in list(self._clients):
            writer.write(data)
            await writer.drain()

    async def _drop(self) -> None:
        clients, self._clients = self._clients, []
        for writer in clients:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        logged_in = False
        lines: list[str] = []
        try:
            while True:
                raw = await asyncio.wait_for(reader.readline(), 30)
                if not raw:
                    break
                line = raw.decode().rstrip("\r\n")
                if line:
                    lines.append(line)
                    continue
                if not lines:
                    continue
                action, lines = parse_message(lines), []
                self.actions.append(action)
                name = action.get("Action", "").lower()
                action_id = action.get("ActionID", "")
                if name == "login":
                    if action.get("Username") == self.username and action.get("Secret") == self.secret:
                        logged_in = True
                        self.logins += 1
                        self._reply(writer, action_id, "Success", Message="Authentication accepted")
                        if action.get("Events", "on").lower() != "off":
                            self._clients.append(writer)
                            writer.write(
                                encode_message(
                                    {
                                        "Event": "FullyBooted",
                                        "Privilege": "system,all",
                                        "Status": "Fully Booted",
                                    }
                                )
                            )
                    else:
                        self.failed_logins += 1
                        self._reply(writer, action_id, "Error", Message="Authentication failed")
                        await writer.drain()
                        break
                elif not logged_in:
                    self._reply(writer, action_id, "Error", Message="Permission denied")
                elif name == "ping":
                    if self.answer_pings:
                        self._reply(writer, action_id, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")
                elif name == "originate":
                    if not self.answer_originate:
                        continue  # a PBX that never answers: the client must give up by itself
                    self._reply(writer, action_id, "Success", Message="Originate successfully queued")
                    asyncio.get_running_loop().call_later(0.05, self._originate_response, writer, action)
                elif name == "logoff":
                    self._reply(writer, action_id, "Goodbye", Message="Thanks for all the fish.")
                    await writer.drain()
                    break
                else:
                    self._reply(writer, action_id, "Error", Message="Invalid/unknown command")
                await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            if writer in self._clients:
                self._clients.remove(writer)
            writer.close()

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, action_id: str, response: str, **fields: str) -> None:
        writer.write(encode_message({"Response": response, "ActionID": action_id, **fields}))

    @staticmethod
    def _originate_response(writer: asyncio.StreamWriter, action: dict[str, str]) -> None:
        if writer.is_closing():
            return
        writer.write(
            encode_message(
                {
                    "Event": "OriginateResponse",
                    "Privilege": "call,all",
                    "ActionID": action.get("ActionID", ""),
                    "Response": "Success",
                    "Channel": f"{action.get('Channel', '')}-00000020",
                    "Context": action.get("Context", ""),
                    "Exten": action.get("Exten", ""),
                    "Reason": "4",
                    "Uniqueid": "1795677000.40",
                    "CallerIDNum": action.get("Exten", ""),
                    "CallerIDName": "<unknown>",
                }
            )
        )

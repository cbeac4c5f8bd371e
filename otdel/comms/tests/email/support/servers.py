"""Mail servers speaking the real protocols on 127.0.0.1, started and stopped by the test fixtures."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

PYMAP = Path(sys.executable).with_name("pymap")
START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ImapServer:
    """A pymap process with one user and its in-memory mail store.

    The test side keeps one logged-in connection (a login costs pymap about half a second).
    """

    host: str
    port: int
    username: str
    password: str
    process: subprocess.Popen[bytes] | None = None
    _admin: IMAPClient | None = None

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    @property
    def admin(self) -> IMAPClient:
        if self._admin is not None:
            try:
                self._admin.noop()
            except Exception:
                self._admin = None
        if self._admin is None:
            self._admin = self.client()
        return self._admin

    def append(self, folder: str, raw: bytes, msg_time: Any = None) -> int:
        """Deliver a raw message into ``folder`` (created when missing); returns its UID."""
        client = self.admin
        if not client.folder_exists(folder):
            client.create_folder(folder)
        response = client.append(folder, raw, msg_time=msg_time)
        text = response.decode() if isinstance(response, bytes) else str(response)
        # "[APPENDUID <uidvalidity> <uid>] APPEND completed."
        return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])

    def reset(self, *folders: str) -> None:
        """Empty INBOX and drop the other folders, so each test starts from a clean mail store."""
        client = self.admin
        for _flags, _delimiter, name in client.list_folders():
            if name.upper() == "INBOX":
                client.select_folder("INBOX")
                uids = client.search(["ALL"])
                if uids:
                    client.delete_messages(uids)
                client.close_folder()  # CLOSE expunges the deleted ones
            else:
                client.delete_folder(name)
        for name in folders:
            client.create_folder(name)

    def recreate(self, folder: str) -> None:
        """Delete and create ``folder`` again: the server gives it a new UIDVALIDITY."""
        self.admin.delete_folder(folder)
        self.admin.create_folder(folder)

    def uidvalidity(self, folder: str) -> int:
        return int(self.admin.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])


def _wait_for_greeting(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pymap exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pymap did not start in time")


@contextlib.contextmanager
def run_pymap(username: str = "sales", password: str = "imap-secret") -> Iterator[ImapServer]:
    host, port = "127.0.0.1", free_port()
    command = [
        str(PYMAP),
        "--host",
        host,
        "--port",
        str(port),
        "--no-tls",
        "--no-service",
        "admin",
        "dict",
        "--demo-user",
        username,
        "--demo-password",
        password,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_greeting(host, port, process)
        server = ImapServer(host, port, username, password, process)
        yield server
        if server._admin is not None:
            with contextlib.suppress(Exception):
                server._admin.logout()
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- SMTP -----------------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    """aiosmtpd on loopback keeping what it receives; ``refuse`` makes it answer 554 to DATA."""

    host: str
    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the aiosmtpd hook name
        if self.refuse:
            return "554 5.7.1 Message rejected as spam"
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "data": bytes(envelope.content),
            }
        )
        return "250 OK"


@contextlib.contextmanager
def run_smtp() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port, ready_timeout=START_TIMEOUT)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- a TCP proxy that can be "down" ----------------------------------------------------------------


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a real server. ``down = True`` refuses new connections (the server
    is unreachable); ``cut()`` drops the open ones (a connection lost in the middle of a FETCH)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.down = False
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.down:
                conn.close()
                continue
            threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._open += [client, upstream]

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        other = threading.Thread(target=pump, args=(client, upstream), daemon=True)
        other.start()
        pump(upstream, client)
        other.join(timeout=5)
        client.close()
        upstream.close()

    def cut(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._listener.close()
        self._thread.join(timeout=5)

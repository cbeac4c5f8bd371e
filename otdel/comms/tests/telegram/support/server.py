"""A Telegram Bot API server on 127.0.0.1 for tests: the methods Otdel uses, speaking the real wire format.

Bot methods are ``POST /bot<token>/<method>`` with a JSON (or form-encoded) body, answered with
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "..."}`` and the
same HTTP status; files are ``GET /file/bot<token>/<file_path>``. Every request is recorded.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass
class Recorded:
    method: str
    token: str
    params: dict[str, Any]


@dataclass
class FakeBot:
    id: int
    username: str
    first_name: str
    webhook: dict[str, Any] = field(default_factory=dict)


class FakeBotApi:
    """State of the fake Telegram: bots by token, files, chats that blocked the bot, queued failures."""

    def __init__(self) -> None:
        self.bots: dict[str, FakeBot] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.blocked_chats: set[int] = set()
        self.requests: list[Recorded] = []
        self.downloads: list[str] = []
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._message_ids = itertools.count(5001)
        self._bot_ids = itertools.count(7000000001)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up from tests ---------------------------------------------------------------------

    def add_bot(self, username: str = "otdel_sales_bot", first_name: str = "Отдел продаж") -> str:
        bot_id = next(self._bot_ids)
        token = f"{bot_id}:AAH{username.upper().replace('_', '')}x7f3kQ9sLmN2pR5tV8wY"
        self.bots[token] = FakeBot(bot_id, username, first_name)
        return token

    def add_file(self, file_id: str, data: bytes, file_path: str) -> None:
        self.files[file_id] = (file_path, data)

    def fail(self, method: str, code: int, description: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` (or "download") fail with this Bot API error."""
        self._failures.setdefault(method, []).extend([(code, description)] * times)

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [r.params for r in self.requests if r.method == method]

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        state = self

        class Handler(_Handler):
            api = state

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- behaviour -----------------------------------------------------------------------------

    def _take_failure(self, method: str) -> tuple[int, str] | None:
        with self._lock:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(Recorded(method, token, params))
        bot = self.bots.get(token)
        if bot is None:
            return _error(401, "Unauthorized")
        failure = self._take_failure(method)
        if failure is not None:
            return _error(*failure)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        return handler(bot, params)

    def _m_getMe(self, bot: FakeBot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return _ok(
            {
                "id": bot.id,
                "is_bot": True,
                "first_name": bot.first_name,
                "username": bot.username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    def _m_setWebhook(self, bot: FakeBot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = str(params.get("url") or "")
        if not url:
            return _error(400, "Bad Request: bad webhook: URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        bot.webhook = {"url": url, "secret_token": secret, "allowed_updates": params.get("allowed_updates")}
        return _ok(True, "Webhook was set")

    def _m_deleteWebhook(self, bot: FakeBot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        bot.webhook = {}
        return _ok(True, "Webhook was deleted")

    def _m_sendMessage(self, bot: FakeBot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _error(400, "Bad Request: chat not found")
        text = str(params.get("text") or "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        message = {
            "message_id": next(self._message_ids),
            "from": {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        return _ok(message)

    def _m_getFile(self, bot: FakeBot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return _ok(
            {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(data), "file_path": path}
        )

    def download(self, token: str, path: str) -> tuple[int, bytes]:
        with self._lock:
            self.downloads.append(path)
        if token not in self.bots:
            return 401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
        failure = self._take_failure("download")
        if failure is not None:
            return failure[0], b""
        for file_path, data in self.files.values():
            if file_path == path:
                return 200, data
        return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'


def _ok(result: Any, description: str | None = None) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return 200, body


def _error(code: int, description: str) -> tuple[int, dict[str, Any]]:
    return code, {"ok": False, "error_code": code, "description": description}


class _Handler(BaseHTTPRequestHandler):
    api: FakeBotApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _params(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if not raw:
            return query
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            return {**query, **json.loads(raw)}
        # Form-encoded, as many clients send: nested objects arrive as JSON strings.
        form: dict[str, Any] = dict(urllib.parse.parse_qsl(raw.decode()))
        for key in ("reply_markup", "allowed_updates"):
            if isinstance(form.get(key), str):
                form[key] = json.loads(form[key])
        return {**query, **form}

    def _route(self) -> tuple[str, str] | None:
        match = re.match(r"^/bot([^/]+)/([A-Za-z]+)$", urllib.parse.urlsplit(self.path).path)
        return (match.group(1), match.group(2)) if match else None

    def do_POST(self) -> None:
        route = self._route()
        params = self._params()
        if route is None:
            status, body = _error(404, "Not Found")
        else:
            status, body = self.api.handle(route[0], route[1], params)
        self._send(status, json.dumps(body, ensure_ascii=False).encode())

    def do_GET(self) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        match = re.match(r"^/file/bot([^/]+)/(.+)$", path)
        if match:
            status, data = self.api.download(match.group(1), match.group(2))
            self._send(status, data, "application/octet-stream" if status == 200 else "application/json")
            return
        route = self._route()
        if route is None:
            status, body = _error(404, "Not Found")
        else:
            status, body = self.api.handle(route[0], route[1], self._params())
        self._send(status, json.dumps(body, ensure_ascii=False).encode())

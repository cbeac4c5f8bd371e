"""A small synchronous Telegram Bot API client: JSON POST to ``{base}/bot{token}/{method}``, file download.

Otdel calls the Bot API from sync Django views and background tasks, a handful of methods in all,
so a thin client over the standard library is simpler to run and to test than an asyncio framework.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
# The cloud Bot API lets bots download files up to 20 MB; a local Bot API server allows more.
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


class BotApiError(Exception):
    """The Bot API refused a call (``code`` is its error_code) or could not be reached (``code`` None)."""

    def __init__(self, description: str, *, code: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.retry_after = retry_after

    @property
    def unreachable(self) -> bool:
        return self.code is None


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BotApi:
    """One bot's view of the Bot API. Never logs URLs: they carry the token."""

    def __init__(self, token: str, base_url: str = "", *, timeout: float = 15.0) -> None:
        self.token = token
        self.base_url = (base_url or DEFAULT_API_BASE_URL).rstrip("/")
        self.timeout = timeout
        # Servers that reach Telegram through a proxy keep using http(s)_proxy from the environment;
        # a Bot API server on this very machine is always reached directly.
        handlers: list[urllib.request.BaseHandler] = []
        if _is_loopback(self.base_url):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def _hide_token(self, text: str) -> str:
        return text.replace(self.token, "<token>") if self.token else text

    def call(self, method: str, **params: Any) -> Any:
        """Call ``method`` with ``params`` as JSON; return its ``result`` or raise BotApiError."""
        url = f"{self.base_url}/bot{self.token}/{method}"
        data = json.dumps({k: v for k, v in params.items() if v is not None}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            # Telegram answers errors with a JSON body and the error code as the HTTP status.
            raw = exc.read()
            if not raw:
                raise BotApiError(f"HTTP {exc.code}", code=exc.code) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BotApiError(self._hide_token(f"cannot reach the Bot API: {reason}")) from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise BotApiError("the Bot API answered with something that is not JSON") from exc
        if not isinstance(answer, dict):
            raise BotApiError("the Bot API answered with something that is not a JSON object")
        if not answer.get("ok"):
            parameters = answer.get("parameters") or {}
            raise BotApiError(
                self._hide_token(str(answer.get("description") or "request failed")),
                code=int(answer.get("error_code") or 0) or None,
                retry_after=parameters.get("retry_after") if isinstance(parameters, dict) else None,
            )
        return answer.get("result")

    def download(self, file_path: str, *, limit: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """Fetch a file by the ``file_path`` that getFile returned."""
        url = f"{self.base_url}/file/bot{self.token}/{urllib.parse.quote(file_path)}"
        try:
            with self._opener.open(urllib.request.Request(url), timeout=self.timeout * 4) as response:
                data = response.read(limit + 1)
        except urllib.error.HTTPError as exc:
            raise BotApiError(f"file download failed: HTTP {exc.code}", code=exc.code) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BotApiError(self._hide_token(f"cannot reach the Bot API: {reason}")) from exc
        if len(data) > limit:
            raise BotApiError(f"the file is larger than {limit} bytes", code=413)
        return data

    # --- the methods Otdel uses -----------------------------------------------------------------

    def get_me(self) -> dict[str, Any]:
        return self.call("getMe")

    def set_webhook(self, *, url: str, secret_token: str, allowed_updates: list[str]) -> bool:
        return bool(
            self.call("setWebhook", url=url, secret_token=secret_token, allowed_updates=allowed_updates)
        )

    def delete_webhook(self) -> bool:
        return bool(self.call("deleteWebhook"))

    def send_message(
        self, *, chat_id: int | str, text: str, reply_markup: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.call("sendMessage", chat_id=chat_id, text=text, reply_markup=reply_markup)

    def get_file(self, file_id: str) -> dict[str, Any]:
        return self.call("getFile", file_id=file_id)

"""The ASGI application of the ``live`` process: ``/live/stream`` answered by a small asyncio handler,
anything else by Django.

Django's own ASGI handler runs a request's synchronous parts (middleware, a sync view) on a thread
kept for that request until its response ends: for a stream open for half an hour that is a parked
thread per tab. This handler authenticates the session once on a shared pool thread (closing its
database connection), then streams from the process's reader (``live.hub``) with no thread and no
connection of its own. ``manage.py serve`` and deploy/systemd/otdel-live.service run it.
"""

from __future__ import annotations

import asyncio
import os
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from asgiref.sync import sync_to_async

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otdel.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user  # noqa: E402
from django.db import connections  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402

from otdel.accounts.twofactor import second_factor_pending  # noqa: E402
from otdel.live import views  # noqa: E402
from otdel.live.hub import last_id  # noqa: E402

STREAM_PATH = "/live/stream"


class _SessionRequest:
    """What ``django.contrib.auth.get_user`` needs of a request: its session."""

    def __init__(self, session: Any) -> None:
        self.session = session


def _signed_in(session_key: str, resume: str) -> tuple[int | None, int]:
    """(The session's active user id or None, the message id to start after); on a pool thread."""
    from importlib import import_module

    try:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key or None)
        user = get_user(_SessionRequest(store))  # type: ignore[arg-type]
        signed_in = user.is_authenticated and user.is_active and not second_factor_pending(user, store)
        user_id = user.pk if signed_in else None
        try:
            after = int(resume)
            if not 0 <= after <= 2**62:
                raise ValueError
        except ValueError:
            after = last_id()
        return user_id, after
    finally:
        connections.close_all()


async def live_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    host = headers.get("host", "")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    cookie = SimpleCookie()
    cookie.load(headers.get("cookie", ""))
    session_key = cookie[settings.SESSION_COOKIE_NAME].value if settings.SESSION_COOKIE_NAME in cookie else ""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    resume = headers.get("last-event-id") or (query.get("after") or [""])[0]
    user_id, after = await sync_to_async(_signed_in, thread_sensitive=False)(session_key, resume)

    out = [(b"vary", b"Origin, Cookie")]
    origin = headers.get("origin", "")
    if origin and urlsplit(origin).hostname == urlsplit(f"//{host}").hostname:
        out += [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
        ]
    if user_id is None or scope.get("method") != "GET":
        await send({"type": "http.response.start", "status": 401, "headers": out})
        await send({"type": "http.response.body", "body": b""})
        return
    out += [
        (b"content-type", b"text/event-stream"),
        (b"cache-control", b"no-cache, no-transform"),
        (b"x-accel-buffering", b"no"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": out})

    async def pump() -> None:
        async for chunk in views.async_stream(user_id, after, connections_open=False):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(disconnected())]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if tasks[0] in done and not tasks[0].cancelled() and tasks[0].exception() is None:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope.get("path") == STREAM_PATH:
        await live_stream(scope, receive, send)
    else:
        await django_application(scope, receive, send)

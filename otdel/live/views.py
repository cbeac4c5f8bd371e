"""The server-sent event stream every open Otdel tab listens to (``/live/stream``).

Under WSGI (``runserver``, the tests' live server) this view streams from a plain generator holding
one thread per tab, fine for development and nothing else. The ``live`` process (``serve``;
``otdel-live`` behind nginx) answers the same path with ``live.asgi``, where an open tab costs a
socket and a queue: no thread, no database connection (docs/live.md). Under Django's own ASGI
handler the view streams asynchronously too (with a parked thread per request, see ``live.asgi``).
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from otdel.accounts.twofactor import second_factor_pending
from otdel.live.hub import Message, hub, last_id, replay

# A comment line this often keeps proxies from closing a quiet stream and notices a closed tab.
HEARTBEAT_SECONDS = 20.0
# A stream ends after this long; the browser reconnects at once (with Last-Event-ID) and so picks
# up a new deployment, a changed session or a moved load balancer.
STREAM_SECONDS = 30 * 60
RETRY_MS = 2000


def sse(message: Message) -> bytes:
    body = json.dumps({"kind": message.kind, **message.data}, ensure_ascii=False, separators=(",", ":"))
    return f"id: {message.id}\nevent: {message.kind}\ndata: {body}\n\n".encode()


def _resume_from(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    try:
        value = int(raw)
    except ValueError:
        return last_id()
    return value if 0 <= value <= 2**62 else last_id()


def _sync_stream(user_id: int, after: int) -> Iterator[bytes]:
    inbox: queue.Queue[Message] = queue.Queue()
    subscription = hub.subscribe(user_id, inbox.put, after=after)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent = after
        for message in replay(user_id, after):
            sent = message.id
            yield sse(message)
        connections.close_all()
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline:
            try:
                message = inbox.get(timeout=HEARTBEAT_SECONDS)
            except queue.Empty:
                yield b": ping\n\n"
                continue
            if message.id > sent:
                sent = message.id
                yield sse(message)
    finally:
        hub.unsubscribe(subscription)


def _replay_closed(user_id: int, after: int) -> list[Message]:
    try:
        return replay(user_id, after)
    finally:
        connections.close_all()  # this pool thread keeps no connection while the stream is open


async def async_stream(user_id: int, after: int, *, connections_open: bool = True) -> AsyncIterator[bytes]:
    if connections_open:
        # The view ran in this request's own thread and may have opened a connection there.
        await sync_to_async(connections.close_all)()
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Message] = asyncio.Queue()

    def deliver(message: Message) -> None:
        loop.call_soon_threadsafe(inbox.put_nowait, message)

    subscription = hub.subscribe(user_id, deliver, after=after)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent = after
        for message in await sync_to_async(_replay_closed, thread_sensitive=False)(user_id, after):
            sent = message.id
            yield sse(message)
        deadline = loop.time() + STREAM_SECONDS
        while loop.time() < deadline:
            try:
                message = await asyncio.wait_for(inbox.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if message.id > sent:
                sent = message.id
                yield sse(message)
    finally:
        hub.unsubscribe(subscription)


def _allow_origin(request: HttpRequest, response: HttpResponseBase) -> None:
    """``make run`` serves the stream on the next port: same host, another origin (docs/live.md)."""
    origin = request.headers.get("Origin") or ""
    if not origin:
        return
    if urlsplit(origin).hostname == urlsplit(f"//{request.get_host()}").hostname:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    response["Vary"] = "Origin"


@require_GET
def stream(request: HttpRequest) -> HttpResponseBase:
    """The signed-in user's messages as server-sent events; 401 when signed out (EventSource fails the connection and does not retry)."""
    user = request.user
    if not user.is_authenticated or not user.is_active or second_factor_pending(user):
        response = HttpResponse(status=401)
        _allow_origin(request, response)
        return response
    after = _resume_from(request)
    streaming: StreamingHttpResponse
    if isinstance(request, ASGIRequest):
        streaming = StreamingHttpResponse(async_stream(user.pk, after), content_type="text/event-stream")
    else:
        streaming = StreamingHttpResponse(_sync_stream(user.pk, after), content_type="text/event-stream")
    streaming["Cache-Control"] = "no-cache, no-transform"
    streaming["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    _allow_origin(request, streaming)
    return streaming

"""The event stream: what a tab receives, under WSGI and ASGI, and the one reader per process."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from otdel.live.hub import Hub, hub
from otdel.live.models import LiveEvent
from otdel.live.services import live_publish, live_topic_users
from otdel.live.tasks import live_events_prune


@pytest.mark.django_db
def test_anonymous_gets_401_so_the_browser_stops_reconnecting(client):
    response = client.get("/live/stream")
    assert response.status_code == 401


@pytest.mark.django_db
def test_publish_writes_one_row_per_user_and_remembers_the_topic(manager, other_manager):
    sent = live_publish(
        user_ids=[manager.pk, other_manager.pk, manager.pk, 0], kind="call", data={"a": 1}, topic="t"
    )
    assert sent == 2
    assert live_topic_users("t") == {manager.pk, other_manager.pk}
    assert live_publish(user_ids=[], kind="call", data={}) == 0


@pytest.mark.django_db
def test_a_reader_delivers_each_row_to_its_users_streams_only(manager, other_manager):
    reader = Hub(reader=False)
    got: dict[str, list[int]] = {"mine": [], "other": []}
    reader.subscribe(manager.pk, lambda m: got["mine"].append(m.id))
    reader.subscribe(other_manager.pk, lambda m: got["other"].append(m.id))
    reader.poll()  # sets the cursor at the newest row
    live_publish(user_ids=[manager.pk], kind="call", data={})
    live_publish(user_ids=[manager.pk, other_manager.pk], kind="call", data={})
    assert reader.poll() == 3
    assert len(got["mine"]) == 2 and len(got["other"]) == 1
    assert reader.poll() == 0  # nothing twice


def test_a_row_written_before_the_readers_first_poll_is_not_skipped(manager):
    """The stream replays up to ``after``; a row written after that but before the new reader's
    first poll must still reach it (the reader starts from the stream's ``after``)."""
    from otdel.live.hub import last_id

    reader = Hub(reader=False)
    got: list[int] = []
    reader.subscribe(manager.pk, lambda m: got.append(m.id), after=last_id())
    live_publish(user_ids=[manager.pk], kind="call", data={})  # before the reader has read at all
    assert reader.poll() == 1 and len(got) == 1


@pytest.mark.django_db
def test_old_messages_are_pruned(manager):
    import datetime

    from django.utils import timezone

    live_publish(user_ids=[manager.pk], kind="call", data={})
    LiveEvent.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1))
    live_publish(user_ids=[manager.pk], kind="call", data={})
    assert live_events_prune.call() == 1
    assert LiveEvent.objects.count() == 1


def _read_until(chunks, marker: bytes, limit: int = 10) -> bytes:
    seen = b""
    for _ in range(limit):
        seen += next(chunks)
        if marker in seen:
            return seen
    raise AssertionError(seen)


@pytest.mark.django_db(transaction=True)
def test_wsgi_stream_replays_after_last_event_id_and_then_pushes(client, manager):
    client.force_login(manager)
    first = live_publish(user_ids=[manager.pk], kind="call", data={"state": "ringing"})
    assert first == 1
    mark = LiveEvent.objects.get().pk
    live_publish(user_ids=[manager.pk], kind="call", data={"state": "answered"})
    response = client.get("/live/stream", HTTP_LAST_EVENT_ID=str(mark))
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    chunks = iter(response.streaming_content)
    seen = _read_until(chunks, b"answered")
    assert b'"ringing"' not in seen  # it was before Last-Event-ID

    timer = threading.Timer(
        0.3, lambda: live_publish(user_ids=[manager.pk], kind="call", data={"state": "ended"})
    )
    timer.start()
    assert b'"ended"' in _read_until(chunks, b"ended")
    response.close()
    timer.join()


class _Tab:
    """One browser tab's stream through the live process's ASGI application."""

    def __init__(self, session_key: str, origin: str = "") -> None:
        headers = [(b"host", b"testserver:8001"), (b"cookie", f"sessionid={session_key}".encode())]
        if origin:
            headers.append((b"origin", origin.encode()))
        self.scope = {
            "type": "http",
            "method": "GET",
            "path": "/live/stream",
            "query_string": b"",
            "headers": headers,
        }
        self.sent: asyncio.Queue[dict] = asyncio.Queue()
        self.closed = asyncio.Event()

    async def receive(self) -> dict:
        await self.closed.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        await self.sent.put(message)

    async def next_body(self) -> bytes:
        while True:
            message = await asyncio.wait_for(self.sent.get(), 10)
            if message["type"] == "http.response.body":
                return message["body"]


@pytest.mark.django_db(transaction=True)
def test_asgi_streams_take_no_thread_each_and_get_pushed_messages(manager, settings):
    """Twenty tabs open in the live process: no thread or database connection per tab."""
    from django.test import Client

    from otdel.live.asgi import application

    settings.ALLOWED_HOSTS = ["testserver"]
    web = Client()
    web.force_login(manager)
    session_key = web.cookies["sessionid"].value

    async def scenario() -> tuple[list[bytes], int, dict]:
        baseline = threading.active_count()
        tabs = [_Tab(session_key, origin="http://testserver:8000") for _ in range(20)]
        runs = [asyncio.ensure_future(application(tab.scope, tab.receive, tab.send)) for tab in tabs]
        starts = [await asyncio.wait_for(tab.sent.get(), 10) for tab in tabs]
        for tab in tabs:
            assert (await tab.next_body()).startswith(b"retry:")
        grown = threading.active_count() - baseline
        await sync_to_async(live_publish, thread_sensitive=False)(
            user_ids=[manager.pk], kind="call", data={"state": "ringing"}
        )
        bodies = [await tab.next_body() for tab in tabs]
        for tab in tabs:
            tab.closed.set()
        await asyncio.wait_for(asyncio.gather(*runs), 10)
        return bodies, grown, starts[0]

    bodies, grown, start = asyncio.run(scenario())
    assert all(b"event: call" in body and b'"ringing"' in body for body in bodies)
    # The reader thread and the shared pool's few threads, whatever the number of tabs.
    assert grown < 10, grown
    assert hub.streams() == 0
    headers = dict(start["headers"])
    assert start["status"] == 200 and headers[b"x-accel-buffering"] == b"no"
    assert headers[b"access-control-allow-origin"] == b"http://testserver:8000"


@pytest.mark.django_db(transaction=True)
def test_asgi_stream_without_a_session_is_401(settings):
    from otdel.live.asgi import application

    settings.ALLOWED_HOSTS = ["testserver"]

    async def scenario() -> dict:
        tab = _Tab("nope")
        await application(tab.scope, tab.receive, tab.send)
        return await tab.sent.get()

    assert asyncio.run(scenario())["status"] == 401


@pytest.mark.django_db
def test_another_site_may_not_read_the_stream(client, manager):
    client.force_login(manager)
    response = client.get("/live/stream", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
    response.close()

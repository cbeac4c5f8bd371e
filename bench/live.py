"""Live updates benchmark: many open tabs on the ``live`` process, one pushed message each.

Starts the live process as ``serve`` does (gunicorn, the ASGI worker, ``otdel.live.asgi``) on a
fresh SQLite database, opens ``--tabs`` event streams (each a signed-in user), then publishes one
message per user in a single INSERT and times how long each tab takes to receive its own.
Printed: the process's threads and open database files before and with the tabs open (what a tab
costs), and the push latency against the reader's poll interval (the floor of this design).

    .venv/bin/python bench/live.py [--tabs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


def _proc_counts(pid: int, db_path: str) -> tuple[int, int]:
    threads = sum(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Threads:")
    )
    files = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(db_path):
                files += 1
        except OSError:
            pass
    return threads, files


async def _tab(port: int, session: str, ready: asyncio.Event, got: dict[str, float], key: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"GET /live/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={session}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    buffer = b""
    while b"retry:" not in buffer:
        buffer += await reader.read(4096)
    ready.set()
    while key.encode() not in buffer:
        chunk = await reader.read(4096)
        if not chunk:
            return
        buffer += chunk
    got[key] = time.monotonic()
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tabs", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="otdel-live-bench-"))
    env = {**os.environ, "OTDEL_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "otdel.settings"}
    env.pop("DATABASE_URL", None)
    os.environ.update(env)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # this script publishes from its event loop
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from bench.common import free_port, wait_port
    from otdel.accounts.models import User
    from otdel.live.hub import POLL_SECONDS
    from otdel.live.services import live_publish

    users = User.objects.bulk_create(
        [User(username=f"tab{n}", role="sales_manager") for n in range(args.tabs)]
    )
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY], store[BACKEND_SESSION_KEY] = (
            str(user.pk),
            "django.contrib.auth.backends.ModelBackend",
        )
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    port = free_port()
    live = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "otdel.live.asgi:application",
            "--worker-class",
            "asgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-connections",
            "5000",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "2",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_port(port)
        time.sleep(1.0)
        worker = int(subprocess.check_output(["pgrep", "-P", str(live.pid)]).split()[0])
        db_path = str(data / "otdel.sqlite3")
        idle = _proc_counts(worker, db_path)

        async def run() -> tuple[list[float], tuple[int, int]]:
            got: dict[str, float] = {}
            readies = [asyncio.Event() for _ in users]
            tabs = [
                asyncio.ensure_future(_tab(port, session, ready, got, f"bench-{user.pk}"))
                for user, session, ready in zip(users, sessions, readies, strict=True)
            ]
            await asyncio.gather(*(ready.wait() for ready in readies))
            await asyncio.sleep(1.0)
            opened = _proc_counts(worker, db_path)
            sent = time.monotonic()
            with transaction.atomic():  # one commit: the message of every tab lands at once
                for user in users:
                    live_publish(user_ids=[user.pk], kind="call", data={"key": f"bench-{user.pk}"})
            committed = time.monotonic() - sent
            await asyncio.wait_for(asyncio.gather(*tabs), 30)
            return [got[k] - sent - committed for k in got], opened

        latencies, opened = asyncio.run(run())
    finally:
        live.terminate()
        try:
            live.wait(10)
        except subprocess.TimeoutExpired:
            live.kill()
            live.wait()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    print(f"live process, {args.tabs} open tabs (SQLite, 1 ASGI worker)")
    print(
        f"  threads: {idle[0]} idle -> {opened[0]} with the tabs open; database files open: {idle[1]} -> {opened[1]}"
    )
    print(
        f"  commit -> received: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
        f"(poll interval {POLL_SECONDS * 1000:.0f} ms: p50 / poll = {p50 / (POLL_SECONDS * 1000):.2f})"
    )


if __name__ == "__main__":
    main()

"""`serve` starts a dead child again, with a pause, and keeps the others running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from otdel.ops.supervisor import Supervisor
from otdel.ops.tests.conftest import ROOT, database_url

SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]


def _until(condition, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the supervisor did not get there"
        supervisor.poll()
        time.sleep(0.05)


def test_a_killed_worker_is_started_again_and_the_web_server_keeps_running():
    lines: list[str] = []
    supervisor = Supervisor(
        [("web", SLEEPER), ("worker-1", SLEEPER)], backoff_start=0.2, backoff_max=1.0, log=lines.append
    )
    supervisor.start()
    web, worker = supervisor.children
    try:
        web_pid, worker_pid = web.history[0], worker.history[0]
        os.kill(worker_pid, signal.SIGKILL)
        _until(lambda: len(worker.history) == 2, supervisor)
        assert worker.restarts == 1
        assert worker.process is not None and worker.process.poll() is None
        assert web.history == [web_pid] and web.process is not None and web.process.poll() is None
        assert any("worker-1" in line and "exited with -9" in line for line in lines)

        # Dying again at once doubles the pause (up to the maximum) rather than spinning.
        os.kill(worker.history[-1], signal.SIGKILL)
        _until(lambda: len(worker.history) == 3, supervisor)
        assert worker.backoff == 0.4
    finally:
        supervisor.stop()
    assert all(
        child.process is not None and child.process.poll() is not None for child in supervisor.children
    )


def _children(pid: int) -> dict[int, str]:
    """{pid: command line} of a process's direct children (Linux /proc)."""
    found = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                pids = [int(p) for p in f.read().split()]
        except FileNotFoundError:
            continue
        for child in pids:
            try:
                with open(f"/proc/{child}/cmdline", "rb") as f:
                    found[child] = f.read().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
    return found


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_serve_restarts_a_killed_task_worker_while_the_web_server_answers():
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url()}
    serve = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def named(word: str) -> list[int]:
            return [pid for pid, cmd in _children(serve.pid).items() if word in cmd]

        deadline = time.monotonic() + 120
        # "otdel.wsgi": the web server (serve also runs the live process, otdel.live.asgi).
        while not (named("db_worker") and named("otdel.wsgi") and named("scheduler")):
            assert time.monotonic() < deadline and serve.poll() is None
            time.sleep(0.1)
        [worker], [web] = named("db_worker"), named("otdel.wsgi")
        os.kill(worker, signal.SIGKILL)
        while named("db_worker") in ([], [worker]):
            assert time.monotonic() < deadline and serve.poll() is None
            time.sleep(0.1)
        assert named("otdel.wsgi") == [web]
        while True:  # the web server answers all along (it may still be starting its workers)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
                continue
            break
        assert status in (200, 503)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)

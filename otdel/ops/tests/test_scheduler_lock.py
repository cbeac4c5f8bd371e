"""Of two schedulers, only one fires jobs; the other takes over when the first stops or dies."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading

import pytest
from django.utils import timezone

from otdel.ops.models import SchedulerLease
from otdel.ops.services import SchedulerLock
from otdel.ops.tests.conftest import ROOT, database_url


@pytest.mark.django_db
def test_two_locks_one_holder_and_takeover_after_expiry(monkeypatch):
    first = SchedulerLock(seconds=30, holder="node-a")
    second = SchedulerLock(seconds=30, holder="node-b")
    assert first.hold() is True
    assert second.hold() is False
    assert first.hold() is True  # renewing is not stealing
    assert SchedulerLease.objects.get().holder == "node-a"

    # node-a stops renewing (hung or dead): once its lease has run out, node-b takes over...
    later = timezone.now() + datetime.timedelta(seconds=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert second.hold() is True
    assert SchedulerLease.objects.get().holder == "node-b"
    # ...and node-a, coming back, finds it is no longer the holder.
    first.renewed_at = None
    assert first.hold() is False


@pytest.mark.django_db
def test_a_clean_stop_hands_over_at_once():
    first = SchedulerLock(seconds=30, holder="node-a")
    second = SchedulerLock(seconds=30, holder="node-b")
    assert first.hold()
    first.release()
    assert second.hold()


def _start_scheduler(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "scheduler", "--tick", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _next_state(process: subprocess.Popen[str]) -> str:
    """The scheduler's next line about the lease (a stuck scheduler is killed, failing the test)."""
    assert process.stdout is not None
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        while True:
            line = process.stdout.readline()
            assert line, "the scheduler exited (or hung and was killed) without a word about the lease"
            if "lease" in line:
                return line
    finally:
        watchdog.cancel()


@pytest.mark.django_db(transaction=True)
def test_two_scheduler_processes_fire_from_one_only():
    env = {**os.environ, "DATABASE_URL": database_url(), "OTDEL_SCHEDULER_LEASE_SECONDS": "3"}
    first = _start_scheduler(env)
    try:
        assert "holds the lease" in _next_state(first)
        second = _start_scheduler(env)
        try:
            assert "standing by" in _next_state(second)
            assert f":{first.pid}:" in SchedulerLease.objects.get().holder

            # The holder dies without a word (no release): the other takes over once the lease expires.
            first.send_signal(signal.SIGKILL)
            first.wait()
            assert "holds the lease" in _next_state(second)
            assert f":{second.pid}:" in SchedulerLease.objects.get().holder
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()

"""Keep a set of child processes running: a child that dies is started again after a growing pause
(1 s, 2 s, 4 s ... up to a minute; back to 1 s once it has run a while), and the others go on.

Used by ``manage.py serve``: the web server, the task workers and the scheduler.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = 0.0
    restarts: int = 0
    history: list[int] = field(default_factory=list)  # pids, oldest first


class Supervisor:
    def __init__(
        self,
        children: Sequence[tuple[str, list[str]]],
        *,
        cwd: Path | str | None = None,
        env: dict[str, str] | None = None,
        backoff_start: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 30.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.children = [Child(name, list(argv)) for name, argv in children]
        self.cwd, self.env, self.log = cwd, env, log
        self.backoff_start, self.backoff_max, self.stable_after = backoff_start, backoff_max, stable_after

    def _spawn(self, child: Child, now: float) -> None:
        child.process = subprocess.Popen(child.argv, cwd=self.cwd, env=self.env)
        child.started_at, child.restart_at = now, None
        child.history.append(child.process.pid)

    def start(self) -> None:
        now = time.monotonic()
        for child in self.children:
            self._spawn(child, now)

    def poll(self) -> None:
        """One round: notice children that died and start those whose pause is over."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.restart_at is None and child.process.poll() is not None:
                ran = now - child.started_at
                if ran >= self.stable_after:
                    child.backoff = 0.0
                child.backoff = min(self.backoff_max, child.backoff * 2 or self.backoff_start)
                child.restart_at = now + child.backoff
                self.log(
                    f"{child.name} (pid {child.process.pid}) exited with {child.process.returncode} "
                    f"after {ran:.0f} s; starting it again in {child.backoff:.0f} s"
                )
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._spawn(child, now)
                self.log(f"{child.name} started again (pid {child.history[-1]}, restart {child.restarts})")

    def run(self, stopping: Callable[[], bool], tick: float = 0.5) -> None:
        try:
            while not stopping():
                self.poll()
                time.sleep(tick)
        finally:
            self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

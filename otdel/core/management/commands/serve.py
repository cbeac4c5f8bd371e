"""Run Otdel in one command: the web server, the background workers and the scheduler; a process
that dies is started again (with a growing pause) while the others go on."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from otdel.ops.supervisor import Supervisor


def control_socket_args() -> list[str]:
    """gunicorn's control socket goes under the data directory, not the home directory (which the
    service account may not have); a path too long for a Unix socket turns the socket off."""
    path = settings.DATA_DIR / "run" / "gunicorn.ctl"
    if len(str(path).encode()) >= 100:
        return ["--no-control-socket"]
    path.parent.mkdir(mode=0o700, exist_ok=True)
    return ["--control-socket", str(path)]


class Command(BaseCommand):
    help = (
        "Serve the web UI and API (gunicorn), the background task workers and the scheduler; "
        "restart any of them that dies; Ctrl+C stops them all."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="web worker processes")
        parser.add_argument("--task-workers", type=int, default=1, help="background task workers")
        parser.add_argument(
            "--live-port",
            type=int,
            default=None,
            help="port of the server-sent event stream (default: --port + 1; 0: none, docs/live.md)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        live_port = options["port"] + 1 if options["live_port"] is None else options["live_port"]
        if live_port:
            env["OTDEL_LIVE_PORT"] = str(live_port)
        web = [
            python,
            "-m",
            "gunicorn",
            "otdel.wsgi:application",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            # Phones, search terms and secrets in request lines masked (otdel/core/logmask.py).
            "--logger-class",
            "otdel.core.logmask.MaskingGunicornLogger",
            "--graceful-timeout",
            "5",
            *control_socket_args(),
        ]
        children = [("web", web)]
        if live_port:
            # Open tabs' event streams (otdel/live): one asyncio process holds them all, with no
            # thread or database connection per tab; the web workers above stay free.
            children.append(
                (
                    "live",
                    [
                        python,
                        "-m",
                        "gunicorn",
                        "otdel.live.asgi:application",
                        "--worker-class",
                        "asgi",
                        "--bind",
                        f"{options['host']}:{live_port}",
                        "--workers",
                        "1",
                        "--worker-connections",
                        "2000",
                        "--graceful-timeout",
                        "5",
                        # The web server's control socket is the one to use; two would collide.
                        "--no-control-socket",
                    ],
                )
            )
        children += [
            (f"worker-{n + 1}", [python, manage, "db_worker", "--interval", "1"])
            for n in range(options["task_workers"])
        ]
        children += [("scheduler", [python, manage, "scheduler"])]
        supervisor = Supervisor(
            children, cwd=settings.BASE_DIR, env=env, log=lambda line: self.stderr.write(f"serve: {line}")
        )
        supervisor.start()
        self.stdout.write(
            self.style.SUCCESS(
                f"Otdel is running at http://{options['host']}:{options['port']}/ (Ctrl+C stops)"
            )
        )

        stopping = False

        def stop(*_args: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        supervisor.run(lambda: stopping)

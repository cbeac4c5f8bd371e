"""Shared pieces of the benchmarks: Django setup, a load generator, starting servers, percentiles."""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otdel.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start_gunicorn(
    app: str, port: int, workers: int = 2, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--worker-class",
        "gthread",
        "--threads",
        os.environ.get("BENCH_THREADS", "4"),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    wait_port(port)
    return proc


def _client_loop(args: tuple[int, str, str, dict[str, str], list[Any], float, int, int]) -> list[float]:
    port, method, path_template, headers, bodies, duration, start, stride = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    deadline = time.perf_counter() + duration
    i = start
    while time.perf_counter() < deadline:
        item = bodies[i % len(bodies)] if bodies else None
        if method == "GET":
            path, body = (item or path_template), None
        else:
            path, body = path_template, item
        if isinstance(body, dict):
            body = json.dumps(body)
        began = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status}")
        i += stride
    conn.close()
    return latencies


def load(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    bodies: list[Any] | None = None,
    per_client: list[list[Any]] | None = None,
    clients: int = 8,
    duration: float = 10.0,
) -> dict[str, float]:
    """``clients`` processes with keep-alive connections hammer ``path`` for ``duration`` seconds.

    ``bodies`` are shared and cycled through (client k takes k, k+clients, ...): request bodies for
    POST, full paths for GET. ``per_client`` gives each client its own list, sent in order (call
    events of one call must arrive in the order the PBX sends them).
    """
    if per_client is not None:
        jobs = [(port, method, path, headers or {}, per_client[k], duration, 0, 1) for k in range(clients)]
    else:
        jobs = [
            (port, method, path, headers or {}, bodies or [], duration, k, clients) for k in range(clients)
        ]
    with mp.Pool(clients) as pool:
        results = pool.map(_client_loop, jobs)
    latencies = sorted(x for r in results for x in r)
    return summarize(latencies, duration)


def summarize(latencies: list[float], duration: float) -> dict[str, float]:
    if not latencies:
        return {"requests": 0, "rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    latencies = sorted(latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "rps": len(latencies) / duration,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def line(name: str, stats: dict[str, float]) -> str:
    return f"{name:<28} {stats['rps']:>9.0f} req/s   p50 {stats['p50_ms']:>7.2f} ms   p99 {stats['p99_ms']:>7.2f} ms"


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def database_label() -> str:
    """ "sqlite3 (<file>)" or "postgresql (<name>)": printed with every result."""
    from django.db import connection

    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def machine_label() -> str:
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, load average {load1:.1f} at start"


def otdel_env(settings_module: str | None) -> dict[str, str]:
    """Environment for the Otdel server: the settings module to measure (default: as shipped)."""
    return {"DJANGO_SETTINGS_MODULE": settings_module} if settings_module else {}


def generated_contacts() -> int:
    """How many contacts generate.py made (callers are picked among them, not among later ones)."""
    from otdel.crm.models import Contact

    return Contact.objects.filter(full_name__startswith="Клиент ").count()

"""Shared pieces of the benchmarks: Django setup, a load generator, starting servers, percentiles."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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


# The load generator is wrk (C, epoll): the clients must not eat the CPU the servers need, as
# Python clients on the same two CPUs did. One wrk thread per client, one keep-alive connection
# each; a Lua script gives every thread its own list of requests and writes the latency histogram.
_WRK_SCRIPT = """
wrk.method = %(method)s
local files, out, stride = %(files)s, %(out)s, %(stride)d
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
end
function init(args)
  reqs = {}
  local file = files[1 + id %% #files]
  for line in io.lines(file) do
    if wrk.method == "GET" then
      reqs[#reqs + 1] = wrk.format("GET", line)
    else
      reqs[#reqs + 1] = wrk.format(wrk.method, nil, nil, line)
    end
  end
  i = (#files == 1) and id or 0
end
function request()
  local r = reqs[1 + i %% #reqs]
  i = i + ((#files == 1) and stride or 1)
  return r
end
function done(summary, latency, requests)
  local f = io.open(out, "w")
  local e = summary.errors
  f:write(string.format("%%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
  for k = 1, #latency do
    local value, n = latency(k)
    f:write(string.format("%%d %%d\\n", value, n))
  end
  f:close()
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of printable ASCII is a valid Lua string literal


@dataclass
class Target:
    """What one side of a comparison is sent.

    ``bodies`` are shared and cycled through (client k takes k, k+clients, ...): request bodies for
    POST, full paths for GET. ``per_client`` gives each client its own list, sent in order (call
    events of one call must arrive in the order the PBX sends them).
    """

    port: int
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    bodies: list[Any] | None = None
    per_client: list[list[Any]] | None = None


@dataclass
class Measured:
    requests: int  # completed, as wrk counts them
    seconds: float
    latencies: list[float]  # seconds, from wrk's latency histogram


def measure(target: Target, *, clients: int = 8, seconds: int = 10) -> Measured:
    """``clients`` connections (keep-alive, one per wrk thread) send ``target`` requests for ``seconds``."""
    if shutil.which("wrk") is None:
        raise SystemExit("The benchmarks need wrk: apt-get install wrk (make bench installs it).")
    lists = target.per_client[:clients] if target.per_client is not None else [target.bodies or [target.path]]
    with tempfile.TemporaryDirectory(prefix="otdel-bench-") as tmp:
        files = []
        for k, items in enumerate(lists):
            name = os.path.join(tmp, f"requests-{k}.txt")
            with open(name, "w") as f:
                for item in items:
                    f.write((json.dumps(item) if isinstance(item, dict) else str(item)) + "\n")
            files.append(name)
        out = os.path.join(tmp, "result.txt")
        script = os.path.join(tmp, "load.lua")
        with open(script, "w") as f:
            f.write(
                _WRK_SCRIPT
                % {
                    "method": _lua_string(target.method),
                    "files": "{" + ", ".join(_lua_string(name) for name in files) + "}",
                    "out": _lua_string(out),
                    "stride": clients,
                }
            )
        cmd = ["wrk", "-t", str(clients), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "30s"]
        cmd += ["-s", script]
        for name, value in target.headers.items():
            cmd += ["-H", f"{name}: {value}"]
        cmd.append(f"http://127.0.0.1:{target.port}{target.path.split('?', 1)[0]}")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            requests, micros, errors = (int(x) for x in f.readline().split())
            histogram = [tuple(int(x) for x in row.split()) for row in f if row.strip()]
    if errors:
        raise RuntimeError(f"{target.method} {target.path}: {errors} of {requests} requests failed")
    latencies = [value / 1_000_000 for value, n in histogram for _ in range(n)]
    return Measured(requests=requests, seconds=micros / 1_000_000, latencies=latencies)


def summarize(runs: list[Measured]) -> dict[str, float]:
    """Requests/s over all runs; p50 and p99 of all their latencies together."""
    latencies = sorted(x for run in runs for x in run.latencies)
    seconds = sum(run.seconds for run in runs)
    if not latencies or not seconds:
        return {"requests": 0, "rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    requests = sum(run.requests for run in runs)
    return {"requests": requests, "rps": requests / seconds, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def load(target: Target, *, clients: int = 8, seconds: int = 10) -> dict[str, float]:
    return summarize([measure(target, clients=clients, seconds=seconds)])


def compare(
    sides: dict[str, Target], *, rounds: int, seconds: int, clients: int = 8, rounds_of: Any = None
) -> dict[str, dict[str, float]]:
    """Measure the sides in ``rounds`` alternating rounds (A B, B A, A B, ...), ``seconds`` each in all.

    A change in what else runs on the machine meets both sides alike. ``rounds_of(side, r)`` may
    return the Target of round ``r`` (fresh call ids for every round, say).
    """
    runs: dict[str, list[Measured]] = {name: [] for name in sides}
    names = list(sides)
    per_round = max(1, round(seconds / rounds))
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            target = rounds_of(name, r) if rounds_of else sides[name]
            runs[name].append(measure(target, clients=clients, seconds=per_round))
    return {name: summarize(measured) for name, measured in runs.items()}


def in_process(
    requests: list[tuple[str, bytes]],
    *,
    method: str,
    token: str,
    expect: int,
    warm: int = 20,
    counted: int = 50,
    n: int = 300,
) -> dict[str, float]:
    """What one request costs inside Otdel: its WSGI app called directly (no network, no contention).

    ``requests`` are (path with query, body). The first ``warm`` fill the caches, the next
    ``counted`` count the SQL statements Django runs (Django's per-request health check "SELECT 1"
    is not among them), then ``n`` more (cycling through the rest) are timed. Returns wall and CPU
    milliseconds and SQL statements per request.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    app = WSGIHandler()

    def call(path: str, body: bytes) -> None:
        route, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {token}",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        if body:
            environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
        statuses: list[str] = []
        b"".join(app(environ, lambda status, headers: statuses.append(status)))
        if not statuses[0].startswith(str(expect)):
            raise RuntimeError(f"{method} {path} -> {statuses[0]}")

    for path, body in requests[:warm]:
        call(path, body)
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        for path, body in requests[warm : warm + counted]:
            call(path, body)
    rest = requests[warm + counted :] or requests
    wall, cpu = time.perf_counter(), time.process_time()
    for k in range(n):
        call(*rest[k % len(rest)])
    return {
        "wall_ms": (time.perf_counter() - wall) / n * 1000,
        "cpu_ms": (time.process_time() - cpu) / n * 1000,
        "queries": len(queries) / counted,
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

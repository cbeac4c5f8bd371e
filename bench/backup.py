"""Backup cost: `backup_run` against a raw copy of the same database, and what it does to writers.

Run on a data set made by bench/generate.py, in its own data dir (the Makefile's BENCH_DATA):

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/backup.py
    DATABASE_URL=postgres://.../otdel_bench OTDEL_DATA_DIR=bench/data .venv/bin/python bench/backup.py

Prints, in the same process and on the same data:
- the time of an Otdel backup (database + files + manifest + checksums) against the raw baseline of
  a bare consistent copy of the database: SQLite: the online backup API into a file (what
  `sqlite3 otdel.sqlite3 .backup copy` does), uncompressed; PostgreSQL: `pg_dump --format=custom` alone;
- contacts committed per second by a writer thread while no backup runs, and while one runs.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup


def main() -> None:
    django_setup()
    from django.db import connection

    from otdel.crm.models import Contact
    from otdel.ops.archive import pg_command_env
    from otdel.ops.models import Backup
    from otdel.ops.services import backup_run

    db = connection.settings_dict
    contacts = Contact.objects.count()
    print(f"database: {connection.vendor}, {contacts} contacts")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        if connection.vendor == "sqlite":
            source, target = sqlite3.connect(db["NAME"]), sqlite3.connect(out / "raw.sqlite3")
            source.backup(target)
            target.close()
            source.close()
            raw_size = (out / "raw.sqlite3").stat().st_size
        else:
            args, env = pg_command_env(db)
            subprocess.run(
                ["pg_dump", "--format=custom", *args, "--file", str(out / "raw.pgdump"), db["NAME"]],
                env=env,
                check=True,
            )
            raw_size = (out / "raw.pgdump").stat().st_size
        raw_seconds = time.perf_counter() - started

        started = time.perf_counter()
        backup = backup_run(output=out / "otdel")
        otdel_seconds = time.perf_counter() - started
        print(f"raw copy:     {raw_seconds:7.2f} s, {raw_size / 1e6:8.1f} MB")
        print(
            f"otdel backup: {otdel_seconds:7.2f} s, {backup.size / 1e6:8.1f} MB (gzip, with files and manifest)"
        )
        print(f"ratio otdel/raw time: {otdel_seconds / raw_seconds:.2f}")

        def writes_per_second(seconds: float, during: threading.Event | None = None) -> float:
            stop = threading.Event()
            count = 0

            def write() -> None:
                nonlocal count
                while not stop.is_set():
                    Contact.objects.create(full_name=f"bench-backup-{count}")
                    count += 1
                connection.close()

            writer = threading.Thread(target=write)
            writer.start()
            start = time.perf_counter()
            if during is None:
                time.sleep(seconds)
            else:
                backup_run(output=out / "during")
                seconds = time.perf_counter() - start
            stop.set()
            writer.join()
            return count / max(seconds, 1e-9)

        idle = writes_per_second(min(10.0, max(2.0, otdel_seconds)))
        busy = writes_per_second(0, during=threading.Event())
        print(f"writer without backup: {idle:8.0f} contacts/s")
        print(f"writer during backup:  {busy:8.0f} contacts/s  (ratio {busy / idle:.2f})")
        Contact.objects.filter(full_name__startswith="bench-backup-").delete()
        Backup.objects.filter(location__startswith=str(out)).delete()


if __name__ == "__main__":
    main()

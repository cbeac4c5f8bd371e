"""Import benchmark: N contact rows (phones in many formats, 10% duplicates of earlier rows) through
Otdel's import vs. a raw bulk insert of the same rows into the same tables, in one run.

- raw: read the CSV with the csv module, keep digits of the phone, one ``bulk_create`` of contacts
  and one of identities per 1,000 rows (``ignore_conflicts``); no validation, change log, dedupe
  by person, routing or events;
- Otdel: ``import_create`` + ``import_run`` (what the background worker runs) on the same file:
  every row through the CRM services (change log, identity dedupe, routing for owners), committed
  in batches with its report row.

Prints rows/s of each, the ratio, and the process's resident memory (RSS) before, at its peak
during, and after each side, sampled every 0.2 s: a streamed import keeps it flat whatever N is.
Rows made by both sides are removed afterwards (the database is left as it was).

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/import.py [--rows 100000] [--rounds 3]
    DATABASE_URL=postgres://... .venv/bin/python bench/import.py
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import database_label, django_setup, machine_label

FORMATS = [
    "+7 9{a:02d} {b:03d}-{c:02d}-{d:02d}",
    "8 (9{a:02d}) {b:03d}-{c:02d}-{d:02d}",
    "89{a:02d}{b:03d}{c:02d}{d:02d}",
    "+79{a:02d}{b:03d}{c:02d}{d:02d}",
]


def phone(n: int, style: int) -> str:
    a, rest = 50 + n // 10_000_000 % 40, n % 10_000_000
    return FORMATS[style % len(FORMATS)].format(a=a, b=rest // 10_000, c=rest // 100 % 100, d=rest % 100)


def write_file(path: Path, rows: int, seed: int) -> None:
    """Row i has a new phone, except every 10th row, which repeats an earlier row's phone in
    another format (a duplicate person); every 5th row has a second phone in the same cell."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["ФИО", "Телефон", "E-mail", "Должность"])
        for i in range(rows):
            if i % 10 == 9:
                n = rng.randrange(0, i)
                phones = phone(seed + n, i + 1)
            else:
                phones = phone(seed + i, i)
                if i % 5 == 0:
                    phones += ", " + phone(seed + rows + i, i + 2)
            writer.writerow(
                [
                    f"Клиент {i} Бенчмарков",
                    phones,
                    f"client{seed + i}@bench.example" if i % 3 == 0 else "",
                    "Менеджер" if i % 4 == 0 else "",
                ]
            )


class RssSampler:
    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        import os

        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.2)

    def __enter__(self) -> RssSampler:
        self.before = self.rss()
        self.peak = self.before
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = self.rss()

    def line(self) -> str:
        mb = 1024 * 1024
        return f"RSS before {self.before / mb:.0f} MB, peak {self.peak / mb:.0f} MB (+{(self.peak - self.before) / mb:.0f}), after {self.after / mb:.0f} MB"


def raw_insert(path: Path) -> list[int]:
    from django.db import transaction

    from otdel.crm.models import Contact, Identity

    made: list[int] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        chunk: list[list[str]] = []
        for row in reader:
            chunk.append(row)
            if len(chunk) == 1000:
                made += _raw_chunk(chunk, Contact, Identity, transaction)
                chunk = []
        if chunk:
            made += _raw_chunk(chunk, Contact, Identity, transaction)
    return made


def _raw_chunk(chunk, Contact, Identity, transaction) -> list[int]:
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            [
                Contact(full_name=name, position=position, comment="bench-raw")
                for name, _p, _e, position in chunk
            ]
        )
        identities = []
        for contact, (_name, phones, email, _position) in zip(contacts, chunk, strict=True):
            for piece in phones.split(","):
                digits = re.sub(r"\D", "", piece)
                identities.append(Identity(contact=contact, kind="phone", value="+7" + digits[-10:]))
            if email:
                identities.append(Identity(contact=contact, kind="email", value=email))
        Identity.objects.bulk_create(identities, ignore_conflicts=True)
    return [c.pk for c in contacts]


def remove(contact_ids: list[int]) -> None:
    """Fast removal of the bench's rows (no per-row signals: this is cleanup, not measured)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.db.models import Q

    from otdel.core.models import ObjectChange
    from otdel.crm.models import Contact, Identity, SearchEntry

    content_type = ContentType.objects.get_for_model(Contact)
    for start in range(0, len(contact_ids), 5000):
        part = contact_ids[start : start + 5000]
        with transaction.atomic():
            SearchEntry.objects.filter(Q(contact_id__in=part) | Q(identity__contact_id__in=part))._raw_delete(
                SearchEntry.objects.db
            )
            Identity.objects.filter(contact_id__in=part)._raw_delete(Identity.objects.db)
            ObjectChange.objects.filter(content_type=content_type, object_id__in=part)._raw_delete(
                ObjectChange.objects.db
            )
            Contact.objects.filter(pk__in=part)._raw_delete(Contact.objects.db)


def run_raw(path: Path, rows: int) -> tuple[float, RssSampler]:
    with RssSampler() as mem:
        began = time.perf_counter()
        made = raw_insert(path)
        seconds = time.perf_counter() - began
    remove(made)
    return rows / seconds, mem


def run_otdel(path: Path, rows: int, admin: object, route_owners: bool) -> tuple[float, RssSampler, object]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from otdel.transfer import services
    from otdel.transfer.models import ImportJob, ImportRow

    with path.open("rb") as handle:
        upload = SimpleUploadedFile("contacts.csv", handle.read())
    job = services.import_create(actor=admin, upload=upload, kind="contacts", dry_run=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, route_owners=route_owners)
    del upload
    with RssSampler() as mem:
        began = time.perf_counter()
        done = services.import_run(job.pk)
        seconds = time.perf_counter() - began
    assert done is not None
    made = [
        pk
        for records in ImportRow.objects.filter(job=done).values_list("records", flat=True).iterator()
        for label, pk, action, _ids in records
        if label == "crm.contact" and action == "created"
    ]
    remove(made)
    done.delete()
    return rows / seconds, mem, done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of both sides, alternating which goes first (raw, Otdel | Otdel, raw | ...); "
        "each round has a file of its own; the median ratio is printed",
    )
    parser.add_argument(
        "--no-route-owners",
        action="store_true",
        help="import without owners from the routing rules (the import's option; on by default)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="rows per transaction of the import (OTDEL_IMPORT_BATCH; the setting's value by default)",
    )
    args = parser.parse_args()
    django_setup()
    if args.batch:
        from django.conf import settings

        settings.OTDEL_IMPORT_BATCH = args.batch
    import os
    import statistics

    from otdel.accounts.models import User

    print(
        f"{machine_label()}; {database_label()}; {args.rows:,} rows; routing for owners "
        f"{'off' if args.no_route_owners else 'on'}"
    )
    admin = User.objects.filter(role="admin", is_active=True).first()
    if admin is None:
        sys.exit("No active admin user: run manage.py load_demo or bench/generate.py first.")
    ratios: list[float] = []
    for round_ in range(args.rounds):
        seed = 10_000_000 + random.Random().randrange(0, 1_000_000) * 100
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "contacts.csv"
            write_file(path, args.rows, seed)
            print(
                f"round {round_ + 1}: file {path.stat().st_size / 1024 / 1024:.1f} MB, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            order = ("raw", "otdel") if round_ % 2 == 0 else ("otdel", "raw")
            for side in order:
                if side == "raw":
                    raw_rate, raw_mem = run_raw(path, args.rows)
                    print(f"  raw bulk insert: {raw_rate:,.0f} rows/s; {raw_mem.line()}")
                else:
                    otdel_rate, otdel_mem, job = run_otdel(path, args.rows, admin, not args.no_route_owners)
                    print(f"  Otdel import: {otdel_rate:,.0f} rows/s; {otdel_mem.line()}")
                    print(
                        f"    status {job.status}: created {job.created:,}, updated {job.updated:,}, "
                        f"merged {job.merged:,}, skipped {job.skipped:,}, errors {job.errors:,}"
                    )
            ratios.append(otdel_rate / raw_rate)
            print(f"  ratio Otdel / raw: {ratios[-1]:.3f}")
    print(
        f"ratios {', '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f} "
        "(target >= 0.2)"
    )


if __name__ == "__main__":
    main()

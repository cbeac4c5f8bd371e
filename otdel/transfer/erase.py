"""Destruction of a person (152-FZ) in the transfer app: import and export files that hold them.

An uploaded import file and an export file are copies of people's data outside the CRM tables.
On destruction (``otdel.privacy.destruction``), a file that created or changed the person's records,
or whose text mentions their phone, e-mail or name, is deleted from the storage once the
transaction commits; the job and the log row stay (counts, who and when) without it. Row messages
that quote the person are blanked.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from django.core.files.storage import default_storage
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from otdel.privacy.destruction import ErasureContext, eraser
from otdel.transfer.models import ExportLog, ImportJob, ImportRow

logger = logging.getLogger(__name__)

# Files larger than this are not read to look for the person (imports are capped far below it).
SCAN_LIMIT = 50 * 1024 * 1024


def _file_text(name: str) -> str:
    """The text of a CSV, or of every XML part of an XLSX; empty if the file is gone or too big."""
    try:
        if default_storage.size(name) > SCAN_LIMIT:
            return ""
        with default_storage.open(name, "rb") as handle:
            data = handle.read()
    except (OSError, ValueError):
        return ""
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "\n".join(
                    archive.read(part).decode("utf-8", errors="replace")
                    for part in archive.namelist()
                    if part.endswith(".xml")
                )
        except zipfile.BadZipFile:
            return ""
    for encoding in ("utf-8", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _mentions(ctx: ErasureContext, text: str) -> bool:
    if not text:
        return False
    lowered = text.lower()
    if any(needle.lower() in lowered for needle in ctx.needles):
        return True
    digits = re.sub(r"\D", "", text)
    return any(tail and tail in digits for tail in ctx.phone_tails)


def _jobs_with_records(ctx: ErasureContext) -> set[int]:
    """Imports whose rows created or changed one of the person's contacts, leads or deals."""
    match = Q()
    for label, ids in (
        ("crm.contact", ctx.contact_ids),
        ("crm.lead", ctx.lead_ids),
        ("crm.deal", ctx.deal_ids),
    ):
        for pk in ids:
            match |= Q(_records__icontains=f'"{label}", {pk},')
    if not match:
        return set()
    rows = ImportRow.objects.annotate(_records=Cast("records", TextField())).filter(match)
    return set(rows.values_list("job_id", flat=True))


@eraser
def erase_transfer(ctx: ErasureContext) -> None:
    touched = _jobs_with_records(ctx)
    for job in ImportJob.objects.exclude(file=""):
        if job.pk in touched or _mentions(ctx, _file_text(job.file.name)):
            ctx.files.append(job.file.name)
            ImportJob.objects.filter(pk=job.pk).update(file="")
            ctx.count("transfer.ImportJob (file)", 1)
    for log in ExportLog.objects.exclude(file=""):
        if _mentions(ctx, _file_text(log.file.name)):
            ctx.files.append(log.file.name)
            ExportLog.objects.filter(pk=log.pk).update(file="")
            ctx.count("transfer.ExportLog (file)", 1)
    rows = ImportRow.objects.exclude(message="")
    quoting = [row.pk for row in rows.only("pk", "message") if _mentions(ctx, row.message)]
    ctx.count("transfer.ImportRow", ImportRow.objects.filter(pk__in=quoting).update(message=""))

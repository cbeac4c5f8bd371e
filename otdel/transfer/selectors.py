"""Reads of the transfer app: a user's imports and exports, progress, preview, the row report."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.core.identity import format_phone
from otdel.core.scoping import scope_rule
from otdel.transfer import engine, reader
from otdel.transfer.layouts import TARGET_LABELS
from otdel.transfer.models import ExportLog, ImportJob, ImportRow

PREVIEW_ROWS = 20
DISTINCT_LIMIT = 200


@scope_rule(ImportJob)
def _scope_imports(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    if getattr(user, "is_head_of_sales", False):
        return qs.filter(created_by=user)
    return qs.none()


@scope_rule(ExportLog)
def _scope_exports(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return qs if user.is_admin and action == "view" else qs.filter(user=user)


def import_list(*, user: Any) -> QuerySet[ImportJob]:
    from otdel.core.scoping import scope

    return scope(ImportJob.objects.select_related("created_by"), user)


def export_list(*, user: Any) -> QuerySet[ExportLog]:
    """The user's own exports (the download page); the privacy log reads ExportLog unscoped."""
    return ExportLog.objects.filter(user=user)


def progress(job: ImportJob, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Rows done / total, rows per second in this run, seconds left."""
    now = now or timezone.now()
    total = job.total or 0
    done = job.done_rows
    rate = 0.0
    if job.run_started_at and job.status == ImportJob.Status.RUNNING:
        elapsed = max((now - job.run_started_at).total_seconds(), 0.001)
        rate = max(done - job.run_started_rows, 0) / elapsed
    left = int((total - done) / rate) if rate > 0 and total >= done else None
    return {
        "done": done,
        "total": total,
        "percent": int(done * 100 / total) if total else (100 if job.status == ImportJob.Status.DONE else 0),
        "rate": round(rate, 1),
        "seconds_left": left,
    }


def _display(target: str, value: Any) -> str:
    if value in (None, "", [], {}):
        return ""
    if target == "phones":
        return ", ".join(format_phone(v) for v in value)
    if target == "emails":
        return ", ".join(value)
    if target in ("responsible",):
        return value.get_full_name() or value.get_username()
    if target == "stage":
        return f"{value.pipeline.name}: {value.name}"
    if target == "expected_close":
        return value.strftime("%d.%m.%Y")
    if target in ("amount", "price"):
        return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    if target == "vat_rate":
        from otdel.documents.models import VatRate

        return str(dict(VatRate.choices).get(value, value))
    if target == "is_active":
        return _("yes") if value else _("no")
    if target == "custom":
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


PREVIEW_FIELDS = [
    "sku",
    "product_name",
    "price",
    "vat_rate",
    "unit",
    "is_active",
    "full_name",
    "phones",
    "emails",
    "company",
    "inn",
    "position",
    "title",
    "stage",
    "amount",
    "expected_close",
    "responsible",
    "source",
    "website",
    "address",
    "custom",
    "comment",
]


def preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The first rows as they will be saved (or the error each would get), without writing."""
    ctx = engine.ImportContext(job)
    info = reader.TableInfo(job.file_format, job.encoding, job.delimiter, list(job.headers))
    rows: list[dict[str, Any]] = []
    iterator = reader.iter_rows(Path(job.file.path), info)
    try:
        for number, values in iterator:
            if number == 1:
                continue
            try:
                rec = engine.parse_row(ctx, values)
                rows.append({"row": number, "values": rec, "error": None})
            except engine.RowError as exc:
                rows.append({"row": number, "values": {}, "error": f"{exc.field}: {exc.message}"})
            if len(rows) >= limit:
                break
    finally:
        iterator.close()
    targets = set(job.mapping.values())
    fields = [f for f in PREVIEW_FIELDS if _shown(f, targets, job.kind)]
    return {
        "fields": [(f, _preview_label(f)) for f in fields],
        "rows": [
            {"row": r["row"], "error": r["error"], "cells": [_display(f, r["values"].get(f)) for f in fields]}
            for r in rows
        ],
    }


def _shown(field: str, targets: set[str], kind: str) -> bool:
    if field == "full_name":
        return bool(targets & {"full_name", "first_name", "last_name", "middle_name"})
    if field == "phones":
        return "phone" in targets
    if field == "emails":
        return "email" in targets
    if field == "comment":
        return bool(targets & {"comment", "note"})
    return field in targets


def _preview_label(field: str) -> str:
    return str(TARGET_LABELS.get({"phones": "phone", "emails": "email"}.get(field, field), field))


def distinct_values(job: ImportJob, target: str, limit: int = DISTINCT_LIMIT) -> list[str]:
    """Distinct values of the columns mapped to ``target`` (stage, responsible, source), for the
    value mapping; streamed, stops at ``limit`` values."""
    from otdel.transfer.values import text

    columns = [int(k) for k, v in job.mapping.items() if v == target]
    if not columns:
        return []
    info = reader.TableInfo(job.file_format, job.encoding, job.delimiter, list(job.headers))
    found: dict[str, None] = {}
    iterator = reader.iter_rows(Path(job.file.path), info)
    try:
        for number, values in iterator:
            if number == 1:
                continue
            for index in columns:
                value = text(values[index]) if index < len(values) else ""
                if value and len(value) <= 255:
                    found.setdefault(value, None)
            if len(found) >= limit:
                break
    finally:
        iterator.close()
    return list(found)


def report_rows(job: ImportJob) -> QuerySet[ImportRow]:
    return job.rows.order_by("row")


def report_xlsx(job: ImportJob, path: str) -> None:
    """The file as uploaded plus two columns: what happened to the row, and the error (if any),
    so the user fixes the rows at fault and uploads the file again."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from otdel.transfer.export import neutralize

    outcomes = {r.row: r for r in job.rows.all().only("row", "outcome", "field", "message")}
    labels = dict(ImportRow.Outcome.choices)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Report")[:31])
    info = reader.TableInfo(job.file_format, job.encoding, job.delimiter, list(job.headers))
    width = len(job.headers)
    for number, values in reader.iter_rows(Path(job.file.path), info):
        values = (list(values) + [None] * width)[:width]
        if number == 1:
            extra = [_("Result"), _("Errors")]
        else:
            result = outcomes.get(number)
            extra = [
                str(labels.get(result.outcome, "")) if result else "",
                (f"{result.field}: {result.message}" if result.field else result.message) if result else "",
            ]
        out = []
        for value in [*values, *extra]:
            cell = WriteOnlyCell(sheet, value=neutralize(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"
            out.append(cell)
        sheet.append(out)
    workbook.save(path)


def preview_raw(job: ImportJob, limit: int) -> list[list[Any]]:
    """The first data rows as they are in the file (for samples beside each column)."""
    info = reader.TableInfo(job.file_format, job.encoding, job.delimiter, list(job.headers))
    result: list[list[Any]] = []
    iterator = reader.iter_rows(Path(job.file.path), info)
    try:
        for number, values in iterator:
            if number > 1:
                result.append(values)
            if len(result) >= limit:
                break
    finally:
        iterator.close()
    return result

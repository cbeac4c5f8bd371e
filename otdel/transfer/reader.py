"""Reading an uploaded table row by row: CSV (UTF-8 with or without BOM, windows-1251, any of ; , tab)
or XLSX (openpyxl read-only, streamed). Every refusal is a ValidationError on ``file`` with a
message a user can act on; nothing here touches the database."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from otdel.core.exceptions import field_error

SAMPLE_BYTES = 256 * 1024
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
# An XLSX is a zip: refuse one that would unpack to more than this, or with a suspicious ratio.
DEFAULT_MAX_UNPACKED = 500 * 1024 * 1024
MAX_RATIO = 200
MAX_CELL = 10_000
MAX_COLUMNS = 300

# cp1251 characters that ordinary Russian or English text never has: many of them mean the bytes
# were in another Cyrillic encoding (cp866, KOI8-R, MacCyrillic) or not text at all.
_CP1251_UNLIKELY = set("ЂЃѓЉЊЌЋЏђљњќћџЎўЈҐґЅѕјІіЇїЄє¤¦§©®°±µ¶·‡†‰‹›")
_INVERTED_CASE = re.compile(r"\b[а-яё][А-ЯЁ]{2,}\b")
_NORMAL_CASE = re.compile(r"\b(?:[А-ЯЁ][а-яё]{2,}|[а-яё]{3,})\b")


def max_bytes() -> int:
    return int(getattr(settings, "OTDEL_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_unpacked() -> int:
    return int(getattr(settings, "OTDEL_IMPORT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED))


@dataclass
class TableInfo:
    file_format: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)


def _refuse(message: str, code: str) -> Exception:
    return field_error("file", message, code)


def detect_format(name: str, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or name.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.lower().endswith(".xls") and head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(_("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV."), "xls")
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig, utf-8, utf-16 (with a BOM) or cp1251; anything else is refused."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise _refuse(_unknown_encoding(), "unknown_encoding")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = sample.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise _refuse(_unknown_encoding(), "unknown_encoding") from exc
    letters = sum(ch.isalpha() for ch in text) or 1
    odd = sum(ch in _CP1251_UNLIKELY or (ord(ch) < 32 and ch not in "\r\n\t") for ch in text)
    inverted = len(_INVERTED_CASE.findall(text))
    if odd / letters > 0.02 or inverted > max(2, len(_NORMAL_CASE.findall(text))):
        raise _refuse(_unknown_encoding(), "unknown_encoding")
    return "cp1251"


def _unknown_encoding() -> str:
    return _(
        "The file's encoding could not be recognized. Save it as CSV in UTF-8 or Windows-1251 "
        "(in Excel: “CSV UTF-8”), or as .xlsx."
    )


def detect_delimiter(text: str) -> str:
    header = text.splitlines()[0] if text else ""
    counts = {d: header.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best]:
        return best
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=";,\t").delimiter
    except csv.Error:
        return ","


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise _refuse(_("The file is empty."), "empty")
    if size > max_bytes():
        raise _refuse(
            _(
                "The file is %(size)s; the largest file that can be imported is %(limit)s. Split it into parts."
            )
            % {"size": filesizeformat(size), "limit": filesizeformat(max_bytes())},
            "too_large",
        )


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
            packed = sum(info.compress_size for info in archive.infolist()) or 1
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(
            _("The Excel file is damaged and cannot be opened. Save it again as .xlsx."), "broken_xlsx"
        ) from exc
    if "xl/workbook.xml" not in names:
        raise _refuse(_("This is not an Excel workbook (.xlsx)."), "broken_xlsx")
    if unpacked > max_unpacked() or unpacked / packed > MAX_RATIO:
        raise _refuse(
            _("The Excel file unpacks to %(size)s, more than can be imported safely (%(limit)s).")
            % {"size": filesizeformat(unpacked), "limit": filesizeformat(max_unpacked())},
            "xlsx_too_large",
        )


def inspect(path: Path, name: str) -> TableInfo:
    """Check the file and read its header; raises ValidationError(file) on anything unreadable."""
    _check_size(path)
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    info = TableInfo(file_format=detect_format(name, sample[:8]))
    if info.file_format == "xlsx":
        _check_zip(path)
    else:
        info.encoding = detect_encoding(sample)
        text = sample.decode(info.encoding, errors="ignore")
        info.delimiter = detect_delimiter(text.lstrip("\ufeff"))
    rows = iter_rows(path, info)
    try:
        first = next(rows, None)
        if first is None:
            raise _refuse(_("The file has no rows."), "empty")
        info.headers = [str(v if v is not None else "").strip() for v in first[1]]
        while info.headers and not info.headers[-1]:
            info.headers.pop()
        if not any(info.headers):
            raise _refuse(_("The first row must hold the column names; it is empty."), "no_header")
        if len(info.headers) > MAX_COLUMNS:
            raise _refuse(_("The file has more than %(n)s columns.") % {"n": MAX_COLUMNS}, "too_many_columns")
        if next(rows, None) is None:
            raise _refuse(_("The file has only the header row and no data."), "only_header")
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    return info


def iter_rows(path: Path, info: TableInfo) -> Generator[tuple[int, list[Any]], None, None]:
    """(row number in the file with the header as 1, cell values); blank rows are left out.

    Streams: memory does not grow with the file. A decoding failure deep in a CSV is a
    ValidationError naming the row.
    """
    if info.file_format == "xlsx":
        yield from _iter_xlsx(path)
    else:
        yield from _iter_csv(path, info)


def _iter_csv(path: Path, info: TableInfo) -> Generator[tuple[int, list[Any]], None, None]:
    csv.field_size_limit(max(MAX_CELL * 20, 1_000_000))
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=info.encoding, errors="strict", newline="")
        reader = csv.reader(text, delimiter=info.delimiter or ",")
        number = 0
        try:
            for values in reader:
                number += 1
                if any(v.strip() for v in values):
                    yield number, values
        except UnicodeDecodeError as exc:
            raise _refuse(
                _(
                    "Row %(row)s is not in the file's encoding (%(encoding)s). Save the whole file in one encoding."
                )
                % {"row": number + 1, "encoding": info.encoding},
                "mixed_encoding",
            ) from exc
        except csv.Error as exc:
            raise _refuse(
                _("Row %(row)s cannot be read: %(error)s") % {"row": number + 1, "error": exc}, "broken_csv"
            ) from exc


def _iter_xlsx(path: Path) -> Generator[tuple[int, list[Any]], None, None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _refuse(
            _("The Excel file is damaged and cannot be opened. Save it again as .xlsx."), "broken_xlsx"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(v not in (None, "") and str(v).strip() for v in values):
                yield number, list(values)
    finally:
        workbook.close()

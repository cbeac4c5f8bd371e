"""Small DOCX files made in the tests (python-docx), one paragraph per line of text."""

from __future__ import annotations

import io
import zipfile

from docx import Document


def docx_bytes(*lines: str, table_loop: bool = False) -> bytes:
    doc = Document()
    for line in lines:
        doc.add_paragraph(line)
    if table_loop:
        table = doc.add_table(rows=3, cols=2)
        table.rows[0].cells[0].text = "{%tr for item in items %}"
        table.rows[1].cells[0].text = "{{ item.name }}"
        table.rows[1].cells[1].text = "{{ item.total }}"
        table.rows[2].cells[0].text = "{%tr endfor %}"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A valid-looking DOCX whose one member unpacks to 200 MB of zeros."""
    base = zipfile.ZipFile(io.BytesIO(docx_bytes("Договор")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in base.infolist():
            bomb.writestr(info, base.read(info))
        with bomb.open("word/media/padding.bin", "w", force_zip64=True) as handle:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(200):
                handle.write(chunk)
    return out.getvalue()


def with_macros() -> bytes:
    base = zipfile.ZipFile(io.BytesIO(docx_bytes("Договор")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as docm:
        for info in base.infolist():
            docm.writestr(info, base.read(info))
        docm.writestr("word/vbaProject.bin", b"macro")
    return out.getvalue()

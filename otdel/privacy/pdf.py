"""System-made PDFs of the privacy app (WeasyPrint): the destruction act of order No. 179."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation


def destruction_act_pdf(act: Any) -> bytes:
    from weasyprint import HTML

    with translation.override("ru"):
        html = render_to_string("privacy/act_pdf.html", {"act": act})
    return HTML(string=html).write_pdf()

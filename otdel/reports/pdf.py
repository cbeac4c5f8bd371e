"""The summary report as a PDF (WeasyPrint), with its charts drawn as SVG, and the e-mail that carries it."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from otdel.reports import selectors


def bar_chart_svg(labels: list[str], values: list[float], *, width: int = 640, bar: int = 18) -> str:
    """Horizontal bars, one per label: a chart WeasyPrint draws without JavaScript."""
    top = max(values, default=0) or 1
    label_w, gap = 200, 6
    height = max(1, len(values)) * (bar + gap)
    rows = []
    for n, (text, value) in enumerate(zip(labels, values, strict=True)):
        y = n * (bar + gap)
        w = int((width - label_w - 60) * value / top)
        rows.append(
            f'<text x="0" y="{y + bar - 5}" font-size="11">{escape(text[:32])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" fill="#0d6efd"/>'
            f'<text x="{label_w + w + 4}" y="{y + bar - 5}" font-size="11">{value:g}</text>'
        )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{"".join(rows)}</svg>'


def summary_context(*, user: Any, date_from: datetime.date, date_to: datetime.date) -> dict[str, Any]:
    filters = selectors.ReportFilters(
        date_from=date_from, date_to=date_to, pipeline=selectors.pipeline_default(user)
    )
    funnel = selectors.funnel_report(user=user, filters=filters)
    traffic = selectors.traffic_report(user=user, filters=filters)
    managers = selectors.managers_report(user=user, filters=filters)
    lost = selectors.lost_reasons_report(user=user, filters=filters)
    sla = selectors.sla_report(user=user, filters=filters)
    return {
        "sla": sla,
        "user": user,
        "filters": filters,
        "funnel": funnel,
        "traffic": traffic,
        "managers": managers,
        "lost": lost,
        "funnel_svg": bar_chart_svg(
            [r["stage"] for r in funnel["rows"]], [r["reached"] for r in funnel["rows"]]
        ),
        "revenue_svg": bar_chart_svg(
            [r["name"] for r in managers["rows"]], [float(r["revenue"]) for r in managers["rows"]]
        ),
    }


def summary_pdf(*, user: Any, date_from: datetime.date, date_to: datetime.date) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "reports/summary_pdf.html", summary_context(user=user, date_from=date_from, date_to=date_to)
    )
    return bytes(HTML(string=html).write_pdf())


def summary_send(*, user: Any, date_from: datetime.date, date_to: datetime.date) -> None:
    """E-mail the summary for the period to ``user`` in their interface language."""
    with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
        pdf = summary_pdf(user=user, date_from=date_from, date_to=date_to)
        period = f"{date_from:%d.%m.%Y} — {date_to:%d.%m.%Y}"
        message = EmailMessage(
            subject=_("Sales report for %(period)s") % {"period": period},
            body=_("The sales department's summary for %(period)s is attached.") % {"period": period},
            to=[user.email],
        )
        message.attach(f"otdel-report-{date_from:%Y%m%d}-{date_to:%Y%m%d}.pdf", pdf, "application/pdf")
        message.send()

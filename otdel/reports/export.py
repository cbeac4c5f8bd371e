"""Reports as tables, and those tables as CSV or XLSX files.

Text that reaches a spreadsheet may come from outside (a UTM tag, a lost reason, a name): a cell
starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) would run as a formula, so it
is prefixed with an apostrophe. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from otdel.crm.models import Channel, LeadSource, NonTargetReason

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Sheet:
    title: str
    headers: list[str]
    rows: list[list[Any]]


def neutralize(value: Any) -> Any:
    """A cell value that a spreadsheet shows and never evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _num(money: str | None) -> Decimal | str:
    return Decimal(money) if money else ""


def _pct(share: float | None) -> float | str:
    return round(share * 100, 2) if share is not None else ""


def _hours(seconds: int | None) -> float | str:
    return round(seconds / 3600, 1) if seconds is not None else ""


def _minutes(seconds: int | None) -> float | str:
    return round(seconds / 60, 1) if seconds is not None else ""


def label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def report_sheets(name: str, data: dict[str, Any]) -> list[Sheet]:
    """The tables of one report's data, with translated headers."""
    rows = data.get("rows", [])
    if name == "funnel":
        stages = [r["stage"] for r in rows]
        main = Sheet(
            _("Funnel"),
            [
                _("Stage"),
                _("Reached"),
                _("Amount reached"),
                _("Step conversion, %"),
                _("Conversion, %"),
                _("In the stage now"),
                _("Amount now"),
                _("Time in stage, median, h"),
                _("Time in stage, p90, h"),
            ],
            [
                [
                    r["stage"],
                    r["reached"],
                    _num(r["reached_amount"]),
                    _pct(r["step_conversion"]),
                    _pct(r["conversion"]),
                    r["count"],
                    _num(r["amount"]),
                    _hours(r["time_median"]),
                    _hours(r["time_p90"]),
                ]
                for r in rows
            ],
        )
        matrix = Sheet(
            _("Stages by manager"),
            [_("Manager"), *[f"{s}: {_('deals')}" for s in stages], *[f"{s}: {_('amount')}" for s in stages]],
            [
                [
                    m["name"] or _("Nobody"),
                    *[c["reached"] for c in m["stages"]],
                    *[_num(c["amount"]) for c in m["stages"]],
                ]
                for m in data.get("by_manager", [])
            ],
        )
        return [main, matrix]
    if name == "traffic":
        reasons = NonTargetReason.values
        return [
            Sheet(
                _("Traffic"),
                [
                    _("Channel"),
                    _("Source"),
                    _("Leads"),
                    pgettext("traffic", "Non-target"),
                    _("Non-target share, %"),
                    pgettext("traffic", "Qualified"),
                    _("Not triaged"),
                    *[label(NonTargetReason, r) for r in reasons],
                ],
                [
                    [
                        label(Channel, r["channel"]),
                        label(LeadSource, r["source"]),
                        r["total"],
                        r["non_target"],
                        _pct(r["non_target_share"]),
                        r["qualified"],
                        r["untriaged"],
                        *[r["non_target_reasons"].get(x, 0) for x in reasons],
                    ]
                    for r in rows
                ],
            )
        ]
    if name == "managers":
        return [
            Sheet(
                _("Managers"),
                [
                    _("Manager"),
                    _("Leads"),
                    _("First response, median, min"),
                    _("First response, p90, min"),
                    _("Calls made"),
                    _("Calls answered"),
                    _("Calls missed"),
                    _("Missed calls returned"),
                    _("E-mails sent"),
                    _("Messages sent"),
                    _("SLA met, %"),
                    _("Deals won"),
                    _("Revenue"),
                    _("Average deal"),
                    _("Overdue tasks"),
                    _("Plan"),
                    _("Plan done, %"),
                ],
                [
                    [
                        r["name"],
                        r["leads"],
                        _minutes(r["first_response_median"]),
                        _minutes(r["first_response_p90"]),
                        r["calls_made"],
                        r["calls_answered"],
                        r["calls_missed"],
                        r["calls_returned"],
                        r["emails_sent"],
                        r["messages_sent"],
                        _pct(r["sla_compliance"]),
                        r["deals_won"],
                        _num(r["revenue"]),
                        _num(r["average_deal"]),
                        r["tasks_overdue"],
                        _num(r["plan"]),
                        r["plan_percent"] if r["plan_percent"] is not None else "",
                    ]
                    for r in rows
                ],
            )
        ]
    if name == "lost-reasons":
        return [
            Sheet(
                _("Lost reasons"),
                [_("Reason"), _("Deals"), _("Amount"), _("Share, %")],
                [[r["reason"], r["count"], _num(r["amount"]), _pct(r["share"])] for r in rows],
            )
        ]
    if name == "data-quality":
        return [
            Sheet(_("Data quality"), [_("Check"), _("Records")], [[r["title"], r["count"]] for r in rows])
        ]
    if name == "sla":
        return [
            Sheet(
                _("SLA"),
                [_("Policy"), _("Person"), _("Met"), _("Breached"), _("Met, %")],
                [
                    [
                        r.get("policy"),
                        r.get("person"),
                        r.get("met"),
                        r.get("breached"),
                        _pct(r.get("compliance")),
                    ]
                    for r in rows
                ],
            ),
            Sheet(
                _("The longest breaches"),
                [_("Record"), _("Policy"), _("Person"), _("Due"), _("Answered"), _("Late by, min")],
                [
                    [
                        r["title"],
                        r["policy"],
                        r["person"],
                        r["due_at"],
                        r["answered_at"] or "",
                        _minutes(r["late"]),
                    ]
                    for r in data.get("longest", [])
                ],
            ),
        ]
    if name == "regulations":
        checklist_headers = [_("Exits from a stage"), _("With every item done"), _("Share, %")]
        return [
            Sheet(
                _("Acknowledgements by regulation"),
                [
                    _("Regulation"),
                    _("Version"),
                    _("Must read"),
                    _("Have read"),
                    _("Have not read"),
                    _("Share, %"),
                ],
                [
                    [
                        r["article"],
                        r["version"],
                        r["audience"],
                        r["acknowledged"],
                        r["pending"],
                        _pct(r["share"]),
                    ]
                    for r in rows
                ],
            ),
            Sheet(
                _("Acknowledgements by person"),
                [_("Person"), _("Must read"), _("Have read"), _("Share, %"), _("Not read yet")],
                [
                    [
                        r["person"],
                        r["required"],
                        r["acknowledged"],
                        _pct(r["share"]),
                        "; ".join(r["pending_articles"]),
                    ]
                    for r in data.get("by_person", [])
                ],
            ),
            Sheet(
                _("Checklists by manager"),
                [_("Manager"), *checklist_headers],
                [
                    [r["name"], r["exits"], r["complete"], _pct(r["share"])]
                    for r in data.get("checklist_by_manager", [])
                ],
            ),
            Sheet(
                _("Checklists by stage"),
                [_("Stage"), *checklist_headers],
                [
                    [r["name"], r["exits"], r["complete"], _pct(r["share"])]
                    for r in data.get("checklist_by_stage", [])
                ],
            ),
        ]
    return []


def to_csv(sheets: list[Sheet]) -> bytes:
    """UTF-8 with a BOM and semicolons: what Excel opens right in a Russian locale."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for n, sheet in enumerate(sheets):
        if n:
            writer.writerow([])
            writer.writerow([neutralize(sheet.title)])
        writer.writerow([neutralize(h) for h in sheet.headers])
        for row in sheet.rows:
            writer.writerow([neutralize(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: list[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for sheet in sheets:
        ws = book.create_sheet(title=sheet.title[:31].replace("/", " ").replace(":", " "))
        ws.append([neutralize(h) for h in sheet.headers])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append([neutralize(v) for v in row])
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
        for column in ws.columns:
            width = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[column[0].column_letter].width = min(max(10, width + 2), 50)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_response(name: str, data: dict[str, Any], fmt: str) -> HttpResponse:
    sheets = report_sheets(name, data)
    if fmt == "xlsx":
        response = HttpResponse(to_xlsx(sheets), content_type=XLSX_TYPE)
    else:
        response = HttpResponse(to_csv(sheets), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="otdel-{name}.{fmt}"'
    return response

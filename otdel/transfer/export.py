"""Exports of the CRM lists: what the user may see, with the list's filters, to CSV or XLSX.

Every export is logged in ExportLog. Cells that a spreadsheet would run as a formula are
neutralized (a leading apostrophe), so an exported value like ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otdel.crm import selectors
from otdel.crm.filtersets import CompanyFilterSet, ContactFilterSet, DealFilterSet, LeadFilterSet
from otdel.transfer.models import ExportLog

SYNC_LIMIT = 5000
FORMATS = ("csv", "xlsx")
_SAFE_SIGNED = re.compile(r"^[+-][\d\s().,/+-]*$")


def neutralize(value: Any) -> Any:
    """A text cell starting with = + - @ tab or CR gets a leading apostrophe, unless it is a plain
    signed number or phone ("+7 912 345-67-89"), which no spreadsheet runs as a function."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=@\t\r" or (value[0] in "+-" and not _SAFE_SIGNED.match(value)):
        return "'" + value
    return value


def _identities(contact: Any, kind: str) -> str:
    if contact is None:
        return ""
    return ", ".join(i.display_value for i in contact.identities.all() if i.kind == kind)


def _user(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _date(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "hour"):
        return timezone.localtime(value).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


@dataclass
class ExportSpec:
    title: Any
    queryset: Callable[[Any], QuerySet[Any]]
    filterset: Any
    columns: list[tuple[Any, Callable[[Any], Any]]]


def _tasks(user: Any) -> QuerySet[Any]:
    return selectors.task_list(user=user).select_related("lead").order_by("done_at", "due_at", "id")


def _task_filter(params: QueryDict, qs: QuerySet[Any]) -> QuerySet[Any]:
    if params.get("done") in ("0", "false"):
        qs = qs.filter(done_at__isnull=True)
    elif params.get("done") in ("1", "true"):
        qs = qs.filter(done_at__isnull=False)
    assignee = str(params.get("assignee") or "")
    if assignee.isdigit():
        qs = qs.filter(assignee_id=int(assignee))
    return qs


SPECS: dict[str, ExportSpec] = {
    "contacts": ExportSpec(
        gettext_lazy("Contacts"),
        lambda user: selectors.contact_list(user=user).order_by("full_name", "id"),
        ContactFilterSet,
        [
            ("ID", lambda c: c.pk),
            (gettext_lazy("Full name"), lambda c: c.full_name),
            (gettext_lazy("Phones"), lambda c: _identities(c, "phone")),
            (gettext_lazy("E-mails"), lambda c: _identities(c, "email")),
            (gettext_lazy("Company"), lambda c: c.company.name if c.company else ""),
            (gettext_lazy("Position"), lambda c: c.position),
            (gettext_lazy("Responsible"), lambda c: _user(c.responsible)),
            (gettext_lazy("Non-target"), lambda c: _("yes") if c.non_target else ""),
            (gettext_lazy("Comment"), lambda c: c.comment),
            (gettext_lazy("Created"), lambda c: _date(c.created_at)),
        ],
    ),
    "companies": ExportSpec(
        gettext_lazy("Companies"),
        lambda user: selectors.company_list(user=user).order_by("name", "id"),
        CompanyFilterSet,
        [
            ("ID", lambda c: c.pk),
            (gettext_lazy("Name"), lambda c: c.name),
            (gettext_lazy("INN"), lambda c: c.inn),
            (gettext_lazy("Website"), lambda c: c.website),
            (gettext_lazy("Address"), lambda c: c.address),
            (gettext_lazy("Industry"), lambda c: c.industry),
            (gettext_lazy("Responsible"), lambda c: _user(c.responsible)),
            (gettext_lazy("Comment"), lambda c: c.comment),
            (gettext_lazy("Created"), lambda c: _date(c.created_at)),
        ],
    ),
    "deals": ExportSpec(
        gettext_lazy("Deals"),
        lambda user: (
            selectors.deal_list(user=user)
            .prefetch_related("contact__identities")
            .order_by("-created_at", "-id")
        ),
        DealFilterSet,
        [
            ("ID", lambda d: d.pk),
            (gettext_lazy("Deal title"), lambda d: d.title),
            (gettext_lazy("Pipeline"), lambda d: d.pipeline.name),
            (gettext_lazy("Stage"), lambda d: d.stage.name),
            (gettext_lazy("Amount"), lambda d: d.amount),
            (gettext_lazy("Currency"), lambda d: d.currency),
            (gettext_lazy("Contact"), lambda d: d.contact.full_name if d.contact else ""),
            (gettext_lazy("Phones"), lambda d: _identities(d.contact, "phone")),
            (gettext_lazy("E-mails"), lambda d: _identities(d.contact, "email")),
            (gettext_lazy("Company"), lambda d: d.company.name if d.company else ""),
            (gettext_lazy("Responsible"), lambda d: _user(d.responsible)),
            (gettext_lazy("Expected close date"), lambda d: _date(d.expected_close)),
            (gettext_lazy("Lost reason"), lambda d: d.lost_reason.name if d.lost_reason else ""),
            (gettext_lazy("Created"), lambda d: _date(d.created_at)),
        ],
    ),
    "leads": ExportSpec(
        gettext_lazy("Leads"),
        lambda user: (
            selectors.lead_list(user=user)
            .prefetch_related("contact__identities")
            .order_by("-created_at", "-id")
        ),
        LeadFilterSet,
        [
            ("ID", lambda lead: lead.pk),
            (gettext_lazy("Contact"), lambda lead: lead.contact.full_name),
            (gettext_lazy("Phones"), lambda lead: _identities(lead.contact, "phone")),
            (gettext_lazy("E-mails"), lambda lead: _identities(lead.contact, "email")),
            (gettext_lazy("Source"), lambda lead: lead.get_source_display()),
            (gettext_lazy("Channel"), lambda lead: lead.get_channel_display()),
            (gettext_lazy("Status"), lambda lead: lead.get_status_display()),
            (gettext_lazy("Verdict"), lambda lead: lead.get_verdict_display()),
            (gettext_lazy("Responsible"), lambda lead: _user(lead.responsible)),
            (gettext_lazy("Comment"), lambda lead: lead.comment),
            ("utm_source", lambda lead: lead.utm_source),
            ("utm_campaign", lambda lead: lead.utm_campaign),
            (gettext_lazy("Created"), lambda lead: _date(lead.created_at)),
        ],
    ),
    "tasks": ExportSpec(
        gettext_lazy("Tasks"),
        _tasks,
        None,
        [
            ("ID", lambda t: t.pk),
            (gettext_lazy("Task"), lambda t: t.title),
            (gettext_lazy("Kind"), lambda t: t.get_kind_display()),
            (gettext_lazy("Assignee"), lambda t: _user(t.assignee)),
            (gettext_lazy("Due"), lambda t: _date(t.due_at)),
            (gettext_lazy("Done"), lambda t: _date(t.done_at)),
            (gettext_lazy("Contact"), lambda t: t.contact.full_name if t.contact else ""),
            (gettext_lazy("Deal"), lambda t: t.deal.title if t.deal else ""),
            (gettext_lazy("Description"), lambda t: t.description),
        ],
    ),
}

# Query parameters that are not filters.
NON_FILTERS = {"format", "page", "kind"}


def clean_filters(params: QueryDict) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if k not in NON_FILTERS and v not in ("", None)}


def export_queryset(kind: str, user: Any, filters: dict[str, str]) -> QuerySet[Any]:
    """The rows of the list as the user sees it, with the same filters as the list page."""
    spec = SPECS[kind]
    params = QueryDict(mutable=True)
    params.update(filters)
    qs = spec.queryset(user)
    if spec.filterset is not None:
        return spec.filterset(params, queryset=qs).qs
    return _task_filter(params, qs)


# Lists whose records have custom fields (otdel.crm.custom): each active one is a column at the end.
CUSTOM_ENTITIES = {"contacts": "contact", "companies": "company", "deals": "deal", "leads": "lead"}


def _columns(kind: str) -> list[tuple[Any, Callable[[Any], Any]]]:
    columns = list(SPECS[kind].columns)
    if kind not in CUSTOM_ENTITIES:
        return columns
    from otdel.accounts.models import User
    from otdel.crm.custom import definitions, display_value

    fields = definitions(CUSTOM_ENTITIES[kind])
    users = (
        {u.pk: u.get_full_name() for u in User.objects.all()} if any(f.type == "user" for f in fields) else {}
    )

    def cell(field: Any) -> Callable[[Any], Any]:
        return lambda obj: display_value(field, (obj.custom or {}).get(field.code), users) or None

    columns.extend((field.name, cell(field)) for field in fields)
    return columns


def rows(kind: str, queryset: QuerySet[Any]) -> Iterator[list[Any]]:
    columns = _columns(kind)
    yield [str(title) for title, _getter in columns]
    for obj in queryset.iterator(chunk_size=1000):  # streamed: memory stays flat
        yield [neutralize(_cell(getter(obj))) for _title, getter in columns]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return value
    return value if isinstance(value, (int, float)) else str(value)


def write_csv(data: Iterator[list[Any]], handle: Any) -> None:
    """UTF-8 with a BOM and ";" so a Russian Excel opens it with the right letters and columns."""
    handle.write("\ufeff")
    writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
    for row in data:
        writer.writerow([str(v).replace(".", ",") if isinstance(v, Decimal) else v for v in row])


def write_xlsx(data: Iterator[list[Any]], path: str, title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for row in data:
        out = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            out.append(cell)
        sheet.append(out)
    workbook.save(path)


def csv_stream(data: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in data:
        writer.writerow([str(v).replace(".", ",") if isinstance(v, Decimal) else v for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def file_name(kind: str, file_format: str) -> str:
    return f"{kind}-{timezone.localtime():%Y-%m-%d-%H%M}.{file_format}"


def export_run(log_id: int) -> None:
    """A large export in the background: the file is kept for the user to download."""
    from otdel.accounts.models import User

    log = ExportLog.objects.get(pk=log_id)
    if log.status not in (ExportLog.Status.QUEUED, ExportLog.Status.RUNNING):
        return
    log.status = ExportLog.Status.RUNNING
    log.save(update_fields=["status"])
    try:
        user = User.objects.get(pk=log.user_id)
        queryset = export_queryset(log.kind, user, log.filters)
        log.rows = queryset.count()
        with tempfile.NamedTemporaryFile(suffix="." + log.file_format) as tmp:
            if log.file_format == "xlsx":
                write_xlsx(rows(log.kind, queryset), tmp.name, str(SPECS[log.kind].title))
            else:
                with open(tmp.name, "w", encoding="utf-8", newline="") as handle:
                    write_csv(rows(log.kind, queryset), handle)
            with open(tmp.name, "rb") as handle:
                log.file.save(file_name(log.kind, log.file_format), File(handle), save=False)
        log.status = ExportLog.Status.DONE
    except Exception:
        log.status = ExportLog.Status.FAILED
        raise
    finally:
        log.finished_at = timezone.now()
        log.save()

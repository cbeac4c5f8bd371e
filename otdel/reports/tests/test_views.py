"""The reports pages, exports (formula neutralizing), the API's formats and errors, plans, the PDF."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from openpyxl import load_workbook

from otdel.crm.tests.factories import DealFactory, LeadFactory, LostReasonFactory
from otdel.reports.export import neutralize
from otdel.reports.models import ManagerPlan, ReportSubscription
from otdel.reports.services import last_complete_period, subscriptions_send_due
from otdel.reports.tests.helpers import msk

pytestmark = pytest.mark.django_db

NOV = "date_from=2026-11-01&date_to=2026-11-30"
EVIL = '=HYPERLINK("http://evil.example","click")'


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def lost_data(pipeline, manager):
    lost = pipeline.stages.get(kind="lost")
    reason = LostReasonFactory(name=EVIL)
    DealFactory(
        pipeline=pipeline, stage=lost, lost_reason=reason, amount=1500, closed_at=msk(10), responsible=manager
    )
    LeadFactory(channel="form", source="form", utm_source="+SUM(1,1)", responsible=manager)


def test_neutralize():
    assert [neutralize(v) for v in ("=1+1", "+7", "-2", "@cmd", "\tx", "ok", 5, Decimal("1.50"), None)] == [
        "'=1+1",
        "'+7",
        "'-2",
        "'@cmd",
        "'\tx",
        "ok",
        5,
        Decimal("1.50"),
        "",
    ]


@pytest.mark.parametrize("name", ["funnel", "traffic", "managers", "lost-reasons", "data-quality", "sla"])
def test_every_report_page_renders_for_the_head(name, head, lost_data):
    response = _client(head).get(f"/reports/{name}/?{NOV}")
    assert response.status_code == 200
    assert 'name="date_from"' in response.content.decode()


def test_index_and_nav_link(head):
    page = _client(head).get("/reports/").content.decode()
    assert 'data-testid="nav-reports"' in page and "/reports/funnel/" in page


def test_office_manager_has_no_reports(office_manager, api_for):
    assert _client(office_manager).get("/reports/funnel/").status_code == 403
    assert api_for(office_manager).get("/api/v1/reports/managers").status_code == 403


def test_csv_export_neutralizes_formulas(head, lost_data):
    response = _client(head).get(f"/reports/lost-reasons/export.csv?{NOV}")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Reason", "Deals"]
    assert rows[1] == ["'" + EVIL, "1", "1500.00", "100.0"]
    traffic = _client(head).get("/reports/traffic/export.csv").content.decode("utf-8-sig")
    assert "'+SUM(1,1)" in traffic and ";+SUM" not in traffic


def test_xlsx_export_through_the_api(head, lost_data, api_for):
    response = api_for(head).get(f"/api/v1/reports/lost-reasons?{NOV}&format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "Reason"
    assert sheet["A2"].value == "'" + EVIL and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 1 and float(sheet["C2"].value) == 1500.0


def test_api_json_shapes_and_errors(head, lost_data, api_for, pipeline):
    client = api_for(head)
    for name in ("funnel", "traffic", "managers", "lost-reasons", "data-quality", "sla"):
        response = client.get(f"/api/v1/reports/{name}?{NOV}")
        assert response.status_code == 200, name
        assert "rows" in response.json()
    sla = client.get("/api/v1/reports/sla").json()
    assert sla["available"] is True and sla["rows"] == [] and sla["longest"] == []
    bad = client.get("/api/v1/reports/managers", {"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert bad.status_code == 400 and "date_to" in bad.json()["errors"]
    assert client.get("/api/v1/reports/funnel", {"pipeline": 999999}).status_code == 400


def test_manager_cannot_ask_for_a_colleague(manager, other_manager, api_for):
    response = api_for(manager).get("/api/v1/reports/managers", {"manager": other_manager.pk})
    assert response.status_code == 400 and "manager" in response.json()["errors"]


def test_drill_down_page_lists_the_records(head, manager, pipeline):
    stages = list(pipeline.stages.order_by("order"))
    deal = DealFactory(pipeline=pipeline, stage=stages[1], responsible=manager, title="Поставка труб")
    response = _client(head).get(
        f"/reports/records/funnel.reached/?pipeline={pipeline.pk}&stage={stages[1].pk}"
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Поставка труб" in page and f"/deals/{deal.pk}/" in page
    assert _client(head).get("/reports/records/nonsense/").status_code == 404


def test_head_enters_monthly_plans(head, manager):
    client = _client(head)
    response = client.post("/reports/plans/", {"month": "2026-11", f"plan-{manager.pk}": "150 000,50"})
    assert response.status_code == 302
    plan = ManagerPlan.objects.get(user=manager)
    assert (plan.month, plan.amount, plan.updated_by) == (
        datetime.date(2026, 11, 1),
        Decimal("150000.50"),
        head,
    )
    assert _client(manager).get("/reports/plans/").status_code == 403


def test_report_pages_in_russian(head, pipeline):
    head.language = "ru"
    head.save()
    page = _client(head).get("/reports/funnel/").content.decode()
    assert "Воронка и конверсия" in page and "Достигли" in page


def test_last_complete_period():
    wednesday = datetime.date(2026, 12, 2)
    assert last_complete_period("weekly", wednesday) == (
        datetime.date(2026, 11, 23),
        datetime.date(2026, 11, 29),
    )
    assert last_complete_period("monthly", wednesday) == (
        datetime.date(2026, 11, 1),
        datetime.date(2026, 11, 30),
    )


def test_scheduled_summary_is_sent_once_per_period(head, pipeline, manager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    head.email = "head@example.ru"
    head.save()
    DealFactory(pipeline=pipeline, responsible=manager)
    _client(head).post("/reports/subscriptions/", {"frequency": "monthly", "active": "1"})
    assert ReportSubscription.objects.filter(user=head, is_active=True).count() == 1
    now = msk(2, 8, month=12)
    assert subscriptions_send_due(now) == 1
    assert subscriptions_send_due(now) == 0  # the same period again: nothing
    message = mail.outbox[0]
    assert message.to == ["head@example.ru"] and "01.11.2026" in message.subject
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content[:5] == b"%PDF-"


def test_funnel_page_breaks_down_by_utm(head, manager, pipeline):
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    LeadFactory(
        deal=deal, contact=deal.contact, utm_source="yandex", verdict="qualified", responsible=manager
    )
    page = _client(head).get("/reports/funnel/?breakdown=utm_source").content.decode()
    assert 'data-testid="funnel-breakdown"' in page and "yandex" in page

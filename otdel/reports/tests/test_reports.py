"""Traffic, managers, lost reasons and data quality on hand-built data; figures computed by hand."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from otdel.comms.models import Interaction
from otdel.crm.models import Identity, Task
from otdel.crm.tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    LostReasonFactory,
)
from otdel.reports.models import ManagerPlan
from otdel.reports.selectors import (
    ReportFilters,
    data_quality_report,
    drill_down,
    lost_reasons_report,
    managers_report,
    traffic_report,
)
from otdel.reports.tests.helpers import msk

pytestmark = pytest.mark.django_db

NOV = {"date_from": datetime.date(2026, 11, 1), "date_to": datetime.date(2026, 11, 30)}


def _lead(when, **kw):
    lead = LeadFactory(**kw)
    type(lead).objects.filter(pk=lead.pk).update(created_at=when)
    lead.refresh_from_db()
    return lead


def _call(when, direction, status, *, contact=None, user=None, routed_to=None):
    return Interaction.objects.create(
        kind="call",
        channel="call",
        direction=direction,
        status=status,
        occurred_at=when,
        contact=contact,
        user=user,
        routed_to=routed_to,
    )


# --- traffic ---------------------------------------------------------------------------------------


@pytest.fixture
def traffic(manager, office_manager):
    for _ in range(3):
        _lead(
            msk(5),
            channel="form",
            source="form",
            utm_source="yandex",
            responsible=manager,
            verdict="qualified",
        )
    _lead(
        msk(6),
        channel="form",
        source="form",
        utm_source="yandex",
        verdict="non_target",
        verdict_reason="supplier",
    )
    _lead(
        msk(6),
        channel="form",
        source="form",
        utm_source="yandex",
        verdict="non_target",
        verdict_reason="job_seeker",
        responsible=office_manager,
        contact=ContactFactory(non_target=True),
    )
    _lead(msk(7), channel="call", source="call", responsible=manager)
    _lead(msk(7), channel="call", source="call", verdict="duplicate")  # merged: not new traffic
    # The department's day ends at midnight Moscow time: 23:30 on the 30th is November...
    _lead(msk(30, 23, 30), channel="email", source="email", responsible=manager)
    # ...and 00:30 on 1 December is not, though it is still 30 November in UTC.
    _lead(msk(1, 0, 30, month=12), channel="email", source="email", responsible=manager)


def test_traffic_counts_non_target_by_reason(traffic, admin_user):
    report = traffic_report(user=admin_user, filters=ReportFilters(**NOV))
    rows = {(r["channel"], r["source"]): r for r in report["rows"]}
    yandex = rows[("form", "yandex")]
    assert (yandex["total"], yandex["non_target"], yandex["qualified"]) == (5, 2, 3)
    assert yandex["non_target_share"] == 0.4
    assert yandex["non_target_reasons"]["supplier"] == 1 and yandex["non_target_reasons"]["job_seeker"] == 1
    assert rows[("call", "call")]["total"] == 1
    assert rows[("email", "email")]["total"] == 1  # 23:30 on the 30th, not 00:30 on the 1st
    assert report["totals"] == {
        "total": 7,
        "non_target": 2,
        "non_target_share": round(2 / 7, 4),
        "qualified": 3,
        "untriaged": 2,
    }


def test_head_sees_non_target_counts_but_not_the_records(traffic, head):
    report = traffic_report(user=head, filters=ReportFilters(**NOV))
    yandex = next(r for r in report["rows"] if r["source"] == "yandex")
    assert yandex["non_target"] == 2  # was 0: the record scope hid them
    drill = drill_down(
        user=head,
        metric="traffic.leads",
        filters=ReportFilters(
            **NOV, extra={"traffic_channel": "form", "traffic_source": "yandex", "verdict": "non_target"}
        ),
    )
    assert drill is not None and drill.queryset.count() == 0


def test_manager_traffic_is_their_own(traffic, manager):
    report = traffic_report(user=manager, filters=ReportFilters(**NOV))
    assert report["totals"]["total"] == 5 and report["totals"]["non_target"] == 0


# --- managers ------------------------------------------------------------------------------------------


@pytest.fixture
def sales(manager, other_manager, office_manager, pipeline):
    won = pipeline.stages.get(kind="won")
    c1, c2, c3, c4, c5 = (ContactFactory() for _ in range(5))
    _lead(msk(2, 10), contact=c1, responsible=manager)
    _call(msk(2, 10, 30), "out", "answered", contact=c1, user=manager)  # 30 min
    _lead(msk(3, 10), contact=c2, responsible=manager)
    _call(msk(1, 10), "out", "answered", contact=c2, user=other_manager)  # before the lead: not a response
    _call(msk(3, 11), "out", "missed", contact=c2, user=manager)  # nobody answered: not a response
    Interaction.objects.create(
        kind="email", channel="email", direction="out", occurred_at=msk(3, 12), contact=c2, user=manager
    )  # 2 h
    _lead(
        msk(4, 10),
        contact=c3,
        responsible=manager,
        verdict="qualified",
        triaged_by=office_manager,
        triaged_at=msk(4, 10, 10),
    )  # 10 min
    _lead(msk(4, 11), responsible=manager, verdict="non_target")  # not the manager's work
    _call(msk(5, 12), "in", "answered", contact=c3, user=manager)
    _call(msk(6, 9), "in", "missed", contact=c4, routed_to=manager)
    _call(msk(6, 15), "out", "answered", contact=c4, user=other_manager)  # c4 called back
    _call(msk(7, 9), "in", "missed", contact=c5, routed_to=manager)
    Interaction.objects.create(
        kind="message", channel="telegram", direction="out", occurred_at=msk(8), contact=c3, user=manager
    )
    DealFactory(pipeline=pipeline, stage=won, responsible=manager, amount=100000, closed_at=msk(10))
    DealFactory(pipeline=pipeline, stage=won, responsible=manager, amount=50000, closed_at=msk(20))
    DealFactory(pipeline=pipeline, stage=won, responsible=manager, amount=70000, closed_at=msk(20, month=10))
    DealFactory(
        pipeline=pipeline,
        stage=won,
        responsible=manager,
        amount=90000,
        closed_at=msk(21),
        contact=ContactFactory(non_target=True),
    )
    now = timezone.now()
    Task.objects.create(title="Позвонить", assignee=manager, due_at=now - datetime.timedelta(days=1))
    Task.objects.create(
        title="Готово", assignee=manager, due_at=now - datetime.timedelta(days=2), done_at=now
    )
    Task.objects.create(title="Потом", assignee=manager, due_at=now + datetime.timedelta(days=1))
    ManagerPlan.objects.create(user=manager, month=datetime.date(2026, 11, 1), amount=Decimal("200000"))
    ManagerPlan.objects.create(user=manager, month=datetime.date(2026, 12, 1), amount=Decimal("999999"))


def test_managers_report_row(sales, admin_user, manager, other_manager, head):
    report = managers_report(user=admin_user, filters=ReportFilters(**NOV))
    rows = {r["manager"]: r for r in report["rows"]}
    assert set(rows) == {manager.pk, other_manager.pk, head.pk}
    row = rows[manager.pk]
    assert row["leads"] == 3
    assert row["first_response_median"] == 30 * 60
    assert row["first_response_p90"] == 1800 + round((7200 - 1800) * 0.8)
    assert (row["calls_made"], row["calls_answered"], row["calls_missed"], row["calls_returned"]) == (
        2,
        1,
        2,
        1,
    )
    assert (row["emails_sent"], row["messages_sent"]) == (1, 1)
    assert (row["deals_won"], row["revenue"], row["average_deal"]) == (2, "150000.00", "75000.00")
    assert row["tasks_overdue"] == 1
    assert (row["plan"], row["plan_percent"]) == ("200000.00", 75.0)
    assert row["sla_compliance"] is None
    assert rows[other_manager.pk]["calls_made"] == 2 and rows[other_manager.pk]["revenue"] == "0.00"


def test_manager_sees_only_own_row(sales, manager):
    rows = managers_report(user=manager, filters=ReportFilters(**NOV))["rows"]
    assert [r["manager"] for r in rows] == [manager.pk]


def test_drill_down_matches_the_figures(sales, admin_user, manager):
    def count(metric):
        drill = drill_down(
            user=admin_user, metric=metric, filters=ReportFilters(**NOV, extra={"user": manager.pk})
        )
        assert drill is not None
        return drill.queryset.count()

    assert count("managers.leads") == 3
    assert count("managers.won") == 2
    assert count("managers.calls_missed") == 2
    assert count("managers.calls_returned") == 1
    assert count("managers.overdue") == 1


# --- lost reasons -----------------------------------------------------------------------------------------


def test_lost_reasons(admin_user, manager, pipeline):
    lost = pipeline.stages.get(kind="lost")
    expensive, competitor = LostReasonFactory(name="Дорого"), LostReasonFactory(name="Ушёл к конкуренту")
    for amount in (100, 200, 300):
        DealFactory(pipeline=pipeline, stage=lost, lost_reason=expensive, amount=amount, closed_at=msk(10))
    DealFactory(pipeline=pipeline, stage=lost, lost_reason=competitor, amount=1000, closed_at=msk(11))
    DealFactory(pipeline=pipeline, stage=lost, lost_reason=competitor, amount=5, closed_at=msk(11, month=10))
    DealFactory(
        pipeline=pipeline,
        stage=lost,
        lost_reason=competitor,
        amount=5,
        closed_at=msk(12),
        contact=ContactFactory(non_target=True),
    )
    report = lost_reasons_report(user=admin_user, filters=ReportFilters(**NOV))
    assert report["total"] == 4
    assert [(r["reason"], r["count"], r["amount"], r["share"]) for r in report["rows"]] == [
        ("Дорого", 3, "600.00", 0.75),
        ("Ушёл к конкуренту", 1, "1000.00", 0.25),
    ]
    assert lost_reasons_report(user=manager, filters=ReportFilters(**NOV))["total"] == 0


# --- data quality ---------------------------------------------------------------------------------------


def _contact(name, phone, company=None):
    contact = ContactFactory(full_name=name, company=company)
    Identity.objects.create(contact=contact, kind="phone", value=phone)
    return contact


def test_data_quality(admin_user, pipeline):
    firm = CompanyFactory(name="ООО Вектор")
    a = _contact("Пётр Петров", "+79120000001", firm)
    _contact("Пётр Петров", "+79120000002", firm)  # same name, same company
    _contact("Анна Смирнова", "+89120000009")  # written with 8: same ten last digits as the next
    _contact("Анна С.", "+79120000009")
    ContactFactory(full_name="Без связи")  # no phone, e-mail or chat
    DealFactory(pipeline=pipeline, contact=a, amount=0)  # no lead, no amount
    with_lead = DealFactory(pipeline=pipeline, contact=a, amount=100)
    LeadFactory(contact=a, deal=with_lead, verdict="qualified")
    stale = DealFactory(pipeline=pipeline, contact=a, amount=100)
    LeadFactory(contact=a, deal=stale, verdict="qualified")
    type(stale).objects.filter(pk=stale.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    LeadFactory(contact=a)  # never triaged
    report = data_quality_report(user=admin_user, filters=ReportFilters(stale_days=14))
    counts = {r["check"]: r["count"] for r in report["rows"]}
    assert counts == {
        "deals_without_source": 1,
        "deals_without_amount": 1,
        "contacts_without_identity": 1,
        "likely_duplicates": 4,
        "stale_deals": 1,
        "untriaged_leads": 1,
    }
    drill = drill_down(user=admin_user, metric="quality.stale_deals", filters=ReportFilters(stale_days=14))
    assert drill is not None and list(drill.queryset) == [stale]


def test_likely_duplicates_by_name_need_the_same_company_or_none_at_both(admin_user):
    vector, alpha = CompanyFactory(name="Вектор"), CompanyFactory(name="Альфа")
    twins = [_contact("Иван Иванов", f"+7912000010{n}") for n in range(2)]  # no company, both
    firm = [_contact("Олег Олегов", f"+7912000020{n}", vector) for n in range(2)]
    _contact("Олег Олегов", "+79120000300", alpha)  # the same name at another company
    _contact("Олег Олегов", "+79120000301")  # and without one: alone in its pair
    _contact("Иван Иванов|", "+79120000400")  # a "|" in a name does not meet the key of another pair
    drill = drill_down(user=admin_user, metric="quality.likely_duplicates", filters=ReportFilters())
    assert drill is not None
    assert sorted(c.pk for c in drill.queryset) == sorted(c.pk for c in [*twins, *firm])
    counts = {
        r["check"]: r["count"] for r in data_quality_report(user=admin_user, filters=ReportFilters())["rows"]
    }
    assert counts["likely_duplicates"] == 4

"""The funnel from the stage history, on hand-built deals with hand-computed figures."""

import datetime

import pytest

from otdel.crm import services
from otdel.crm.models import Stage
from otdel.crm.tests.factories import ContactFactory, LostReasonFactory
from otdel.reports.history import history_rebuild
from otdel.reports.models import StageVisit
from otdel.reports.selectors import ReportFilters, funnel_report
from otdel.reports.tests.helpers import at, msk

pytestmark = pytest.mark.django_db

NOV = {"date_from": datetime.date(2026, 11, 1), "date_to": datetime.date(2026, 11, 30)}


def _deal(actor, pipeline, when, amount, owner, *, contact=None):
    with at(when):
        return services.deal_create(
            actor=actor,
            title=f"Сделка {amount}",
            pipeline=pipeline,
            contact=contact or ContactFactory(),
            responsible=owner,
            amount=amount,
        )


def _move(actor, deal, stage, when, **kw):
    with at(when):
        deal.refresh_from_db()
        return services.deal_move(actor=actor, deal=deal, stage=stage, **kw)


@pytest.fixture
def history(admin_user, head, manager, other_manager, pipeline):
    new, talks, invoice, won, lost = list(pipeline.stages.order_by("order"))
    expensive = LostReasonFactory(name="Дорого")
    d1 = _deal(admin_user, pipeline, msk(1, 10), 100, manager)
    _move(admin_user, d1, talks, msk(2, 10))
    _move(admin_user, d1, invoice, msk(4, 10))
    _move(admin_user, d1, won, msk(5, 10))
    d2 = _deal(admin_user, pipeline, msk(1, 10), 200, manager)
    _move(admin_user, d2, talks, msk(1, 16))
    _move(admin_user, d2, lost, msk(3, 10), lost_reason=expensive)
    _deal(admin_user, pipeline, msk(2, 10), 300, other_manager)
    d4 = _deal(admin_user, pipeline, msk(2, 10), 400, other_manager)
    _move(admin_user, d4, invoice, msk(3, 12))  # skips the talks
    _move(admin_user, d4, talks, msk(4, 12))  # and goes back
    _move(admin_user, d4, invoice, msk(5, 12))
    # Not in the funnel: a non-target client, and a deal of October.
    _deal(admin_user, pipeline, msk(3, 10), 5000, manager, contact=ContactFactory(non_target=True))
    _deal(admin_user, pipeline, msk(30, 10, month=10), 7000, manager)
    return {"stages": (new, talks, invoice, won, lost)}


def test_reached_conversion_and_time_in_stage(history, admin_user, pipeline):
    report = funnel_report(user=admin_user, filters=ReportFilters(pipeline=pipeline, **NOV))
    rows = report["rows"]
    assert report["total"] == 4
    assert [r["reached"] for r in rows] == [4, 3, 2, 1, 1]
    assert [r["count"] for r in rows] == [1, 0, 1, 1, 1]
    assert [r["amount"] for r in rows] == ["300.00", "0.00", "400.00", "100.00", "200.00"]
    assert [r["step_conversion"] for r in rows] == [1.0, 0.75, pytest.approx(0.6667), 0.5, 0.25]
    assert [r["conversion"] for r in rows] == [1.0, 0.75, 0.5, 0.25, 0.25]
    # Time in "new" of the deals that left it: 6 h (d2), 24 h (d1), 26 h (d4).
    assert rows[0]["time_median"] == 24 * 3600
    assert rows[0]["time_p90"] == 24 * 3600 + round(2 * 3600 * 0.8)
    # "Talks": d1 two days, d2 two days less 6 hours... d2 16:00 day 1 -> 10:00 day 3 = 42 h; d4 1 day.
    assert rows[1]["time_median"] == 42 * 3600  # [24 h, 42 h, 48 h]
    assert report["won"] == {"count": 1, "amount": "100.00"}
    assert report["lost_reasons"] == [
        {
            "reason": "Дорого",
            "reason_id": report["lost_reasons"][0]["reason_id"],
            "count": 1,
            "amount": "200.00",
            "share": 1.0,
        }
    ]


def test_stage_by_manager_table(history, admin_user, manager, other_manager, pipeline):
    report = funnel_report(user=admin_user, filters=ReportFilters(pipeline=pipeline, **NOV))
    table = {
        row["manager"]: [(c["reached"], c["amount"]) for c in row["stages"]] for row in report["by_manager"]
    }
    assert table[manager.pk] == [(2, "300.00"), (2, "300.00"), (1, "100.00"), (1, "100.00"), (1, "200.00")]
    assert table[other_manager.pk] == [(2, "700.00"), (1, "400.00"), (1, "400.00"), (0, "0.00"), (0, "0.00")]


def test_manager_sees_own_funnel_head_the_department(history, manager, head, pipeline):
    own = funnel_report(user=manager, filters=ReportFilters(pipeline=pipeline, **NOV))
    assert own["total"] == 2 and [r["reached"] for r in own["rows"]] == [2, 2, 1, 1, 1]
    assert funnel_report(user=head, filters=ReportFilters(pipeline=pipeline, **NOV))["total"] == 4


def test_rebuild_from_the_change_log_gives_the_same_history(history, admin_user, pipeline):
    before = list(
        StageVisit.objects.order_by("deal", "entered_at").values_list("deal", "stage", "seconds", "first")
    )
    history_rebuild()
    after = list(
        StageVisit.objects.order_by("deal", "entered_at").values_list("deal", "stage", "seconds", "first")
    )
    assert after == before and len(after) == 14


def test_empty_period_shows_zeros(history, admin_user, pipeline):
    rows = funnel_report(
        user=admin_user,
        filters=ReportFilters(
            pipeline=pipeline, date_from=datetime.date(2025, 1, 1), date_to=datetime.date(2025, 1, 31)
        ),
    )["rows"]
    assert [r["reached"] for r in rows] == [0] * 5 and all(r["time_median"] is None for r in rows)
    assert Stage.objects.count() == 5


def test_a_stage_change_by_any_service_enters_the_history(admin_user, pipeline):
    from otdel.crm.tests.factories import DealFactory

    new, _talks, invoice, *_ = list(pipeline.stages.order_by("order"))
    deal = DealFactory(pipeline=pipeline)
    services.deal_update(actor=admin_user, deal=deal, stage=invoice)  # an edit form, not a drag
    visits = StageVisit.objects.filter(deal=deal).order_by("entered_at", "id")
    assert [v.stage_id for v in visits] == [new.pk, invoice.pk]
    assert visits[0].left_at is not None and visits[1].left_at is None


def test_the_summary_job_is_registered_with_the_scheduler():
    from otdel.core.scheduler import periodic_jobs

    assert "reports.scheduled_send" in {job.name for job in periodic_jobs()}


def test_breakdown_by_utm_source(history, admin_user, pipeline):
    from otdel.crm.models import Deal
    from otdel.crm.tests.factories import LeadFactory
    from otdel.reports.selectors import drill_down

    d1, d2, d3, d4 = Deal.objects.filter(amount__in=[100, 200, 300, 400]).order_by("amount")
    for deal, utm in ((d1, "yandex"), (d2, "yandex"), (d4, "vk")):
        LeadFactory(deal=deal, contact=deal.contact, utm_source=utm, verdict="qualified")
    filters = ReportFilters(pipeline=pipeline, breakdown="utm_source", **NOV)
    groups = {g["group"]: g for g in funnel_report(user=admin_user, filters=filters)["by_group"]}
    assert {k: g["total"] for k, g in groups.items()} == {"yandex": 2, "vk": 1, "": 1}
    # yandex: d1 went new -> talks -> invoice -> won, d2 new -> talks -> lost.
    assert [c["reached"] for c in groups["yandex"]["stages"]] == [2, 2, 1, 1, 1]
    assert [c["reached"] for c in groups["vk"]["stages"]] == [1, 1, 1, 0, 0]
    drill = drill_down(
        user=admin_user,
        metric="funnel.reached",
        filters=ReportFilters(
            pipeline=pipeline,
            breakdown="utm_source",
            **NOV,
            extra={"stage": groups["yandex"]["stages"][2]["stage_id"], "group": "yandex"},
        ),
    )
    assert drill is not None and list(drill.queryset) == [d1]

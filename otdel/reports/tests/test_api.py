"""Reports through the API: traffic with the non-target share, and the funnel."""

import pytest

from otdel.crm.tests.factories import DealFactory, LeadFactory


@pytest.mark.django_db
def test_traffic_report_counts_non_target_share(api_for, admin_user):
    for _ in range(3):
        LeadFactory(channel="form", source="form", utm_source="yandex")
    LeadFactory(channel="form", source="form", utm_source="yandex", verdict="non_target")
    LeadFactory(channel="call", source="call")
    rows = api_for(admin_user).get("/api/v1/reports/traffic").json()["rows"]
    yandex = next(r for r in rows if r["source"] == "yandex")
    assert {k: yandex[k] for k in ("channel", "source", "total", "non_target", "non_target_share")} == {
        "channel": "form",
        "source": "yandex",
        "total": 4,
        "non_target": 1,
        "non_target_share": 0.25,
    }
    assert any(r["channel"] == "call" and r["source"] == "call" and r["total"] == 1 for r in rows)


@pytest.mark.django_db
def test_traffic_report_respects_scope(api_for, manager):
    LeadFactory(responsible=manager)
    LeadFactory()  # someone else's
    rows = api_for(manager).get("/api/v1/reports/traffic").json()["rows"]
    assert sum(r["total"] for r in rows) == 1


@pytest.mark.django_db
def test_funnel_counts_deals_per_stage(api_for, admin_user, pipeline):
    stages = list(pipeline.stages.order_by("order"))
    DealFactory(pipeline=pipeline, stage=stages[0], amount=100)
    DealFactory(pipeline=pipeline, stage=stages[1], amount=200)
    DealFactory(pipeline=pipeline, stage=stages[3], amount=300)  # won
    rows = api_for(admin_user).get("/api/v1/reports/funnel", {"pipeline": pipeline.pk}).json()["rows"]
    assert [r["count"] for r in rows] == [1, 1, 0, 1, 0]
    # Made straight in their stages: each reached only the stage it was made in (the history says so).
    assert [r["reached"] for r in rows] == [1, 1, 0, 1, 0]
    assert rows[0]["conversion"] == pytest.approx(1 / 3, abs=1e-4)
    assert rows[3]["amount"] == "300.00"


@pytest.mark.django_db
def test_bad_dates_are_400(api_for, admin_user):
    response = api_for(admin_user).get("/api/v1/reports/traffic", {"date_from": "yesterday"})
    assert response.status_code == 400 and "date_from" in response.json()["errors"]

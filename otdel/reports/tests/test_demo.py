"""The reports demo on top of the core demo: idempotent, and the funnel shows the demo's deals."""

import pytest

from otdel.crm.models import Pipeline
from otdel.reports.demo import seed_demo
from otdel.reports.models import ManagerPlan, StageVisit
from otdel.reports.selectors import ReportFilters, funnel_report

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_gives_the_same_rows(admin_user):
    from django.core.management import call_command

    call_command("load_demo", verbosity=0)
    seed_demo()
    first = (StageVisit.objects.count(), ManagerPlan.objects.count())
    seed_demo()
    assert (StageVisit.objects.count(), ManagerPlan.objects.count()) == first
    assert first[0] > 0 and first[1] == 20
    pipeline = Pipeline.objects.filter(is_default=True).first()
    report = funnel_report(user=admin_user, filters=ReportFilters(pipeline=pipeline))
    assert report["total"] > 0 and report["rows"][0]["reached"] > 0
    # the apps' demos give the SLA and regulations reports figures from the start
    from otdel.reports.selectors import regulations_report, sla_report

    sla = sla_report(user=admin_user, filters=ReportFilters())
    assert sum(r["met"] + r["breached"] for r in sla["rows"]) > 0
    regulations = regulations_report(user=admin_user, filters=ReportFilters())["rows"]
    assert sum(r["acknowledged"] for r in regulations) > 0 and sum(r["pending"] for r in regulations) > 0

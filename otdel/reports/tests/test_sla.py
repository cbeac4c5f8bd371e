"""The SLA report (figures from the automation app's clocks) and first response on working time."""

import datetime

import pytest

from otdel.automation.models import SlaPolicy, SlaTimer
from otdel.comms.models import Interaction
from otdel.crm.tests.factories import ContactFactory, DealFactory, LeadFactory
from otdel.reports.selectors import ReportFilters, drill_down, managers_report, sla_report
from otdel.reports.tests.helpers import msk

pytestmark = pytest.mark.django_db

NOV = {"date_from": datetime.date(2026, 11, 1), "date_to": datetime.date(2026, 11, 30)}
MIN = datetime.timedelta(minutes=1)


def _timer(policy, state, *, started, minutes=15, late=0, lead=None, deal=None, answered=True):
    due = started + minutes * MIN
    met_at = (due + late * MIN if state == "breached" else started + 5 * MIN) if answered else None
    return SlaTimer.objects.create(
        policy=policy,
        key=f"k{SlaTimer.objects.count()}",
        lead=lead,
        deal=deal,
        started_at=started,
        due_at=due,
        state=state,
        met_at=met_at,
        breached_at=due if state == "breached" else None,
    )


@pytest.fixture
def clocks(manager, other_manager, pipeline):
    response = SlaPolicy.objects.create(name="Первый ответ", target="first_response", minutes=15)
    stage = SlaPolicy.objects.create(name="КП за день", target="stage_time", minutes=480)
    mine, theirs = LeadFactory(responsible=manager), LeadFactory(responsible=other_manager)
    # manager: 3 met, 1 breached by 40 min; one still running (not counted); one in October (not counted)
    for _ in range(3):
        _timer(response, "met", started=msk(3), lead=mine)
    _timer(response, "breached", started=msk(4), late=40, lead=mine)
    SlaTimer.objects.create(
        policy=response, key="run", lead=mine, started_at=msk(5), due_at=msk(5, 11), state="running"
    )
    _timer(response, "breached", started=msk(20, month=10), late=500, lead=mine)
    # other manager: 1 breached by 2 h (answered), 1 breached and never answered
    _timer(response, "breached", started=msk(6), late=120, lead=theirs)
    _timer(response, "breached", started=msk(7), lead=theirs, answered=False)
    # a stage clock on the manager's deal, met
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    _timer(stage, "met", started=msk(8), minutes=480, deal=deal)
    return response, stage, mine, theirs, deal


def test_sla_by_policy_person_and_longest(clocks, admin_user, manager, other_manager):
    response, stage, mine, theirs, deal = clocks
    report = sla_report(user=admin_user, filters=ReportFilters(**NOV))
    assert report["available"] is True
    cells = {(r["policy_id"], r["person_id"]): (r["met"], r["breached"]) for r in report["rows"]}
    assert cells == {
        (response.pk, manager.pk): (3, 1),
        (response.pk, other_manager.pk): (0, 2),
        (stage.pk, manager.pk): (1, 0),
    }
    by_policy = {r["policy_id"]: r for r in report["by_policy"]}
    assert (by_policy[response.pk]["met"], by_policy[response.pk]["breached"]) == (3, 3)
    assert by_policy[response.pk]["compliance"] == 0.5
    by_person = {r["person_id"]: r["compliance"] for r in report["by_person"]}
    assert by_person == {manager.pk: 0.8, other_manager.pk: 0.0}
    longest = report["longest"]
    # the unanswered one is late until now (weeks), then 2 h, then 40 min
    assert [r["record_id"] for r in longest] == [theirs.pk, theirs.pk, mine.pk]
    assert longest[0]["answered_at"] is None and longest[1]["late"] == 120 * 60
    assert longest[2]["late"] == 40 * 60 and longest[2]["person_id"] == manager.pk


def test_sla_scope_and_managers_compliance(clocks, manager, head):
    response, *_ = clocks
    mine = sla_report(user=manager, filters=ReportFilters(**NOV))
    assert {r["person_id"] for r in mine["rows"]} == {manager.pk}
    assert all(r["person_id"] == manager.pk for r in mine["longest"])
    rows = {r["manager"]: r for r in managers_report(user=head, filters=ReportFilters(**NOV))["rows"]}
    assert rows[manager.pk]["sla_compliance"] == 0.8


def test_sla_drill_down_lists_the_records(clocks, admin_user, manager, other_manager):
    response, stage, mine, theirs, deal = clocks

    def records(**extra):
        drill = drill_down(user=admin_user, metric="sla.records", filters=ReportFilters(**NOV, extra=extra))
        assert drill is not None
        return drill.kind, sorted(drill.queryset.values_list("pk", flat=True))

    assert records(policy=response.pk, user=other_manager.pk, state="breached") == ("leads", [theirs.pk])
    assert records(policy=response.pk, state="met") == ("leads", [mine.pk])
    assert records(policy=stage.pk, user=manager.pk) == ("deals", [deal.pk])
    # a sales manager drilling into a colleague's figure sees none of their records
    drill = drill_down(
        user=manager,
        metric="sla.records",
        filters=ReportFilters(**NOV, extra={"policy": response.pk, "user": other_manager.pk}),
    )
    assert drill is not None and drill.queryset.count() == 0


def test_sla_page_and_export(clocks, head, client):
    client.force_login(head)
    page = client.get("/reports/sla/?date_from=2026-11-01&date_to=2026-11-30")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="sla-longest"' in html and "Первый ответ" in html and "2 h 0 min" in html
    export = client.get("/reports/sla/export.csv?date_from=2026-11-01&date_to=2026-11-30")
    text = export.content.decode("utf-8-sig")
    assert "Первый ответ" in text and "120.0" in text


def test_late_answer_is_recorded_on_a_breached_clock(manager):
    """The clock breached at its deadline; the e-mail that came later tells how late it was."""
    from otdel.automation.sla import sla_on_event
    from otdel.core.events import InteractionReceived

    contact = ContactFactory()
    lead = LeadFactory(responsible=manager, contact=contact)
    policy = SlaPolicy.objects.create(name="Ответ", target="first_response", minutes=15)
    timer = _timer(policy, "breached", started=msk(3), lead=lead, answered=False)
    mail = Interaction.objects.create(
        kind="email", channel="email", direction="out", occurred_at=msk(3, 11), contact=contact, lead=lead
    )
    sla_on_event(event=InteractionReceived.name, payload={"interaction_id": mail.pk})
    timer.refresh_from_db()
    assert timer.state == "breached" and timer.met_at == msk(3, 11)


def test_first_response_is_counted_on_working_time(manager):
    """A lead on Friday 17:50 answered on Monday 9:10 was answered in 20 working minutes; one at
    night answered at 9:05 in 5 minutes (calendar time would say 63 h and 10 h)."""
    for created, answered in ((msk(6, 17, 50), msk(9, 9, 10)), (msk(9, 23, 0), msk(10, 9, 5))):
        contact = ContactFactory()
        lead = LeadFactory(responsible=manager, contact=contact)
        type(lead).objects.filter(pk=lead.pk).update(created_at=created)
        Interaction.objects.create(
            kind="email",
            channel="email",
            direction="out",
            occurred_at=answered,
            contact=contact,
            user=manager,
        )
    row = managers_report(user=manager, filters=ReportFilters(**NOV))["rows"][0]
    assert row["first_response_median"] == round((5 + 20) / 2 * 60)
    assert row["first_response_p90"] == round((5 + (20 - 5) * 0.9) * 60)


def test_the_summary_pdf_has_the_sla(clocks, head):
    import io

    from pypdf import PdfReader

    from otdel.reports.pdf import summary_pdf

    pdf = summary_pdf(user=head, date_from=NOV["date_from"], date_to=NOV["date_to"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "SLA" in text and "Первый ответ" in text and "КП за день" in text


def test_managers_page_links_sla_compliance_to_the_sla_report(clocks, head, manager, client):
    client.force_login(head)
    html = client.get("/reports/managers/?date_from=2026-11-01&date_to=2026-11-30").content.decode()
    assert f'data-testid="sla-{manager.pk}"' in html and "80%" in html


def test_working_clock_agrees_with_the_automation_worktime(manager):
    """The report's year-summed clock gives what ``automation.worktime`` counts day by day, across
    weekends, holidays, short days, nights and a new year."""
    import random

    from django.utils import timezone

    from otdel.automation.worktime import working_minutes_between
    from otdel.core.models import CalendarDay
    from otdel.reports.selectors import WorkingClock

    CalendarDay.objects.get_or_create(date=datetime.date(2026, 11, 4), defaults={"kind": "holiday"})
    CalendarDay.objects.get_or_create(date=datetime.date(2026, 11, 3), defaults={"kind": "short"})
    CalendarDay.objects.get_or_create(date=datetime.date(2026, 12, 26), defaults={"kind": "working"})
    manager.work_days = [0, 1, 2, 3, 4]
    clock = WorkingClock(manager)
    rng = random.Random(7)
    start = msk(1, 0, 0)
    for _ in range(300):
        a = start + datetime.timedelta(minutes=rng.randrange(0, 80 * 24 * 60))
        b = a + datetime.timedelta(minutes=rng.choice([5, 50, 600, 3000, 20000]))
        with timezone.override(timezone.get_default_timezone()):
            expected = working_minutes_between(
                a,
                b,
                working_time=True,
                work_days=[0, 1, 2, 3, 4],
                start=manager.work_start,
                end=manager.work_end,
            )
        assert clock.seconds(a, b) == round(expected * 60), (a, b)

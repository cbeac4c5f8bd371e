"""SLA clocks on the responsible's own working time (their hours, days and absences), and the
``task_done`` target: started by a task, met when it is done, breached once."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from otdel.accounts.models import Absence
from otdel.automation import sla
from otdel.automation.models import SlaPolicy, SlaTimer
from otdel.automation.worktime import add_minutes, hours_of
from otdel.crm import services as crm
from otdel.crm.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")
# Monday 7 December 2026, 17:00 Moscow time.
MONDAY_5PM = datetime.datetime(2026, 12, 7, 17, 0, tzinfo=MSK)


def test_add_minutes_skips_a_persons_absence():
    absent = frozenset({datetime.date(2026, 12, 8), datetime.date(2026, 12, 9)})
    due = add_minutes(MONDAY_5PM, 120, working_time=True, absent=absent)
    # One hour on Monday, then Tuesday and Wednesday away: the second hour is Thursday 09:00-10:00.
    assert due == datetime.datetime(2026, 12, 10, 10, 0, tzinfo=MSK)


def test_hours_of_reads_the_persons_days_hours_and_absences(manager):
    manager.work_start, manager.work_end = datetime.time(12, 0), datetime.time(20, 0)
    manager.save()
    Absence.objects.create(user=manager, start=datetime.date(2026, 12, 8), end=datetime.date(2026, 12, 8))
    hours = hours_of(manager, since=datetime.date(2026, 12, 7))
    assert hours["start"] == datetime.time(12, 0) and hours["end"] == datetime.time(20, 0)
    assert hours["absent"] == frozenset({datetime.date(2026, 12, 8)})
    # 17:00 + 4 working hours of a 12:00-20:00 person away on Tuesday: Wednesday 13:00.
    assert add_minutes(MONDAY_5PM, 240, working_time=True, **hours) == datetime.datetime(
        2026, 12, 9, 13, 0, tzinfo=MSK
    )


def test_a_lead_clock_runs_on_the_responsibles_own_hours(manager, monkeypatch):
    manager.work_start, manager.work_end = datetime.time(12, 0), datetime.time(20, 0)
    manager.save()
    Absence.objects.create(user=manager, start=datetime.date(2026, 12, 8), end=datetime.date(2026, 12, 8))
    policy = SlaPolicy.objects.create(
        name="Первый ответ", target="first_response", minutes=240, working_time=True, warn_at_percent=0
    )
    lead = crm.lead_create(
        actor=None, contact=ContactFactory(), source="form", channel="form", responsible=manager
    )
    timer = sla.timer_start(policy=policy, key="k", started_at=MONDAY_5PM, lead=lead)
    assert timer.due_at == datetime.datetime(2026, 12, 9, 13, 0, tzinfo=MSK)
    # Nobody responsible: the company's 09:00-18:00 (1 hour on Monday, 3 on Tuesday).
    lead.responsible = None
    timer = sla.timer_start(policy=policy, key="k2", started_at=MONDAY_5PM, lead=lead)
    assert timer.due_at == datetime.datetime(2026, 12, 8, 12, 0, tzinfo=MSK)


def test_task_done_clock_is_met_when_the_task_is_done(
    api_for, head, manager, django_capture_on_commit_callbacks
):
    response = api_for(head).post(
        "/api/v1/sla-policies",
        {
            "name": "Перезвонить за час",
            "target": "task_done",
            "applies_to": {"kind": "call_back"},
            "minutes": 60,
            "working_time": False,
            "warn_at_percent": 0,
            "on_breach": [{"action": "notify", "to": "head_of_sales", "text": "Задача не сделана"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        done = crm.task_create(
            actor=None, title="Перезвонить", contact=contact, assignee=manager, kind="call_back"
        )
        late = crm.task_create(
            actor=None, title="Перезвонить 2", contact=contact, assignee=manager, kind="call_back"
        )
        crm.task_create(actor=None, title="Другое", contact=contact, assignee=manager)  # another kind
    assert SlaTimer.objects.count() == 2
    timer = SlaTimer.objects.get(task=late)
    assert timer.due_at == late.created_at + datetime.timedelta(minutes=60)
    with django_capture_on_commit_callbacks(execute=True):
        crm.task_complete(actor=manager, task=done)
    assert SlaTimer.objects.get(task=done).state == "met"
    after = timer.due_at + datetime.timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.timers_drain(now=after) == 1
        assert sla.timers_drain(now=after) == 0
    assert SlaTimer.objects.get(task=late).state == "breached"
    assert head.notifications.filter(title__startswith="Задача не сделана").count() == 1


def test_task_done_policy_with_an_unknown_kind_is_400(api_for, head):
    response = api_for(head).post(
        "/api/v1/sla-policies",
        {"name": "x", "target": "task_done", "applies_to": {"kind": "dance"}, "minutes": 60},
        format="json",
    )
    assert response.status_code == 400 and "applies_to.kind" in response.json()["errors"]

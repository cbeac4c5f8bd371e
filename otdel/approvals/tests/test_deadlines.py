"""Step deadlines on working time: the automation layer's SLA clock reminds before the deadline,
escalates after it (notify, then hand the step to the approver's head), and the breached step shows
on the SLA board."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from otdel.approvals import services
from otdel.approvals.models import ApprovalEvent, ApprovalTask
from otdel.automation import sla
from otdel.automation.models import Notification, SlaTimer
from otdel.automation.selectors import sla_board

pytestmark = pytest.mark.django_db


def _at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, 12, day, hour, minute))


def test_a_step_deadline_counts_working_hours_reminds_then_escalates_to_the_head(
    admin_user, manager, contract, lawyer, legal_head, django_capture_on_commit_callbacks
):
    route = services.route_save(
        actor=admin_user,
        name="Договоры",
        document_kinds=["contract"],
        steps=[{"name": "Юрист", "approvers": [{"user": lawyer.pk}], "deadline_hours": 4}],
    )
    # Friday 4 December 2026, 16:00: two working hours are left that day, two more on Monday.
    approval = services.approval_start(actor=manager, document=contract, route=route, now=_at(4, 16))
    stage = approval.stages.get()
    assert timezone.localtime(stage.due_at) == _at(7, 11)
    timer = SlaTimer.objects.get(key=f"approval-stage:{stage.pk}")
    assert timer.due_at == stage.due_at and timer.deal_id == contract.deal_id
    assert timezone.localtime(timer.warn_at) == _at(7, 10, 12)  # 80 % of 4 h = 3 h 12 min

    with django_capture_on_commit_callbacks(execute=True):
        assert sla.timers_drain(now=_at(5, 12)) == 0  # Saturday: nothing is due
        assert sla.timers_drain(now=_at(7, 10, 30)) == 1
    reminder = Notification.objects.get(user=lawyer, key__startswith="approval-remind:")
    assert "Срок" in reminder.title or "deadline" in reminder.title

    with django_capture_on_commit_callbacks(execute=True):
        assert sla.timers_drain(now=_at(7, 11, 1)) == 1
    assert Notification.objects.filter(user=lawyer, key__startswith="approval-overdue:").exists()
    assert Notification.objects.filter(user=manager, key__startswith="approval-overdue-owner:").exists()
    old = ApprovalTask.objects.get(assignee=lawyer)
    new = ApprovalTask.objects.get(assignee=legal_head)
    assert old.replaced and new.on_behalf_of == lawyer and new.reason == "escalated"
    assert ApprovalEvent.objects.filter(approval=approval, kind="escalated").exists()
    assert Notification.objects.filter(user=legal_head, kind=Notification.Kind.APPROVAL).exists()

    board = sla_board(now=_at(7, 11, 5))
    assert [t.pk for t in board["timers"] if t.state == SlaTimer.State.BREACHED] == [timer.pk]
    # The head decides for the lawyer; the clock is closed.
    services.approval_decide(actor=legal_head, approval=approval, decision="approve")
    approval.refresh_from_db()
    assert approval.status == "approved"


def test_a_decision_in_time_stops_the_clock(manager, contract, route, lawyer):
    approval = services.approval_start(actor=manager, document=contract, route=route)
    stage = approval.stages.get(position=0)
    services.approval_decide(actor=lawyer, approval=approval, decision="approve")
    assert SlaTimer.objects.get(key=f"approval-stage:{stage.pk}").state == SlaTimer.State.MET
    sla.timers_drain(now=stage.due_at + datetime.timedelta(days=30))  # the next step's clock may fire
    assert not ApprovalTask.objects.filter(stage=stage, replaced=True).exists()


def test_a_step_clock_counts_for_the_approver_it_waits_on_not_the_deals_salesperson(
    admin_user, manager, contract, route, lawyer, cfo, legal
):
    from otdel.reports.selectors import ReportFilters, sla_report

    approval = services.approval_start(actor=manager, document=contract, route=route)
    first = approval.stages.get(position=0)
    timer = SlaTimer.objects.get(key=f"approval-stage:{first.pk}")
    assert timer.person == lawyer
    board = sla_board()
    assert [name for name, timers in board["by_person"] if timer in timers] == [
        lawyer.full_name or lawyer.username
    ]

    services.approval_decide(actor=lawyer, approval=approval, decision="approve")
    timer.refresh_from_db()
    assert (timer.state, timer.person) == (SlaTimer.State.MET, lawyer)  # met by the one who decided
    second = SlaTimer.objects.get(key=f"approval-stage:{approval.stages.get(position=1).pk}")
    assert second.person == cfo

    request = services.request_create(actor=manager, deal=contract.deal, department=legal, title="Проверить")
    clock = SlaTimer.objects.get(key=f"department-request:{request.pk}")
    assert clock.person_id == request.assignee_id

    today = timezone.localdate()
    report = sla_report(user=admin_user, filters=ReportFilters(date_from=today, date_to=today))
    people = {row["person_id"] for row in report["rows"]}
    assert lawyer.pk in people and manager.pk not in people

"""Approvers deciding at the same moment (run on PostgreSQL: real row locks, real parallel
transactions): each step mode ends with one outcome, and no decision is lost — each one is either
recorded or refused with 409, never silently overwritten."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from otdel.approvals import services
from otdel.approvals.models import ApprovalEvent, ApprovalStage, ApprovalStatus, ApprovalTask, StageStatus
from otdel.core.exceptions import ConflictError

pytestmark = pytest.mark.django_db(transaction=True)


def _all_at_once(approval: Any, people: list[Any], decision: str = "approve") -> list[str]:
    """Every person decides at the same moment (a barrier releases them together)."""
    barrier = threading.Barrier(len(people))

    def decide(person: Any) -> str:
        try:
            barrier.wait(timeout=20)
            comment = "" if decision == "approve" else f"{person.username}: нет"
            services.approval_decide(actor=person, approval=approval, decision=decision, comment=comment)
            return "ok"
        except ConflictError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        return list(pool.map(decide, people))


def _route(admin_user: Any, mode: str, people: list[Any], quorum: int = 1, then: Any = None) -> Any:
    steps = [
        {"name": "Параллельно", "mode": mode, "quorum": quorum, "approvers": [{"user": p.pk} for p in people]}
    ]
    if then is not None:
        steps.append({"name": "Потом", "approvers": [{"user": then.pk}]})
    return services.route_save(
        actor=admin_user, name=f"Режим {mode}", document_kinds=["contract"], steps=steps
    )


def test_all_mode_two_at_once_both_kept_and_the_next_step_starts_once(
    admin_user, manager, contract, lawyer, lawyer2, cfo
):
    route = _route(admin_user, "all", [lawyer, lawyer2], then=cfo)
    approval = services.approval_start(actor=manager, document=contract, route=route)
    assert _all_at_once(approval, [lawyer, lawyer2]) == ["ok", "ok"]
    first = ApprovalStage.objects.get(approval=approval, position=0)
    assert first.status == StageStatus.APPROVED
    assert sorted(first.tasks.values_list("decision", flat=True)) == ["approve", "approve"]
    assert ApprovalTask.objects.filter(stage__approval=approval, assignee=cfo).count() == 1
    assert ApprovalEvent.objects.filter(approval=approval, kind="step_done").count() == 1


def test_any_mode_two_at_once_one_wins_the_other_is_told(admin_user, manager, contract, lawyer, lawyer2, cfo):
    route = _route(admin_user, "any", [lawyer, lawyer2], then=cfo)
    approval = services.approval_start(actor=manager, document=contract, route=route)
    outcomes = _all_at_once(approval, [lawyer, lawyer2])
    assert sorted(outcomes) == ["ok", "step_closed"]
    first = ApprovalStage.objects.get(approval=approval, position=0)
    assert first.status == StageStatus.APPROVED
    assert first.tasks.filter(decision="approve").count() == 1
    assert ApprovalTask.objects.filter(stage__approval=approval, assignee=cfo).count() == 1


def test_quorum_of_two_among_three_at_once(admin_user, manager, contract, lawyer, lawyer2, legal_head):
    route = _route(admin_user, "quorum", [lawyer, lawyer2, legal_head], quorum=2)
    approval = services.approval_start(actor=manager, document=contract, route=route)
    outcomes = _all_at_once(approval, [lawyer, lawyer2, legal_head])
    assert sorted(outcomes) == ["ok", "ok", "step_closed"]
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert ApprovalTask.objects.filter(stage__approval=approval, decision="approve").count() == 2
    contract.refresh_from_db()
    assert contract.status == "approved"


def test_reject_and_approve_at_once_end_in_one_outcome(admin_user, manager, contract, lawyer, lawyer2):
    route = _route(admin_user, "all", [lawyer, lawyer2])
    approval = services.approval_start(actor=manager, document=contract, route=route)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def decide(person: Any, decision: str) -> None:
        try:
            barrier.wait(timeout=20)
            services.approval_decide(actor=person, approval=approval, decision=decision, comment="нет")
            results[person.username] = "ok"
        except ConflictError as exc:
            results[person.username] = exc.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(lawyer, "approve")),
        threading.Thread(target=decide, args=(lawyer2, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    approval.refresh_from_db()
    assert (
        results["lawyer2"] == "ok"
    )  # a reject always lands: it is the step's first word or after an approve
    assert approval.status == ApprovalStatus.REJECTED
    decided = dict(
        ApprovalTask.objects.filter(stage__approval=approval).values_list("assignee__username", "decision")
    )
    assert decided["lawyer2"] == "reject"
    assert decided["lawyer"] == ("approve" if results["lawyer"] == "ok" else "")

"""A document through a route: start, lock, decisions, rework and resubmission, the approval sheet,
deputies and people who leave (services and the API, as a user touches them)."""

from __future__ import annotations

import datetime

import pytest

from otdel.accounts.models import Absence
from otdel.approvals import services
from otdel.approvals.models import ApprovalEvent, ApprovalStatus, ApprovalTask, StageStatus
from otdel.approvals.tests.conftest import add_version, pdf_pages, pdf_text
from otdel.automation.delivery import deliveries_drain
from otdel.automation.models import Notification, NotificationSettings
from otdel.core.exceptions import ConflictError
from otdel.documents import services as documents
from otdel.documents.models import DocumentStatus
from otdel.documents.storage import file_read

pytestmark = pytest.mark.django_db


def _start(api_for, user, document, route):
    return api_for(user).post(f"/api/v1/documents/{document.pk}/approval", {"route": route.pk}, format="json")


def _decide(api_for, user, approval_id, decision, comment=""):
    return api_for(user).post(
        f"/api/v1/approvals/{approval_id}/decision", {"decision": decision, "comment": comment}, format="json"
    )


def test_sending_locks_the_document_and_the_first_approver_is_told(api_for, manager, contract, route, lawyer):
    response = _start(api_for, manager, contract, route)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "in_progress"
    assert body["step"]["name"] == "Юрист"
    contract.refresh_from_db()
    assert contract.status == DocumentStatus.IN_APPROVAL
    # Locked: no new version (the API and the service alike), no deletion.
    assert api_for(manager).post(f"/api/v1/documents/{contract.pk}/regenerate").status_code == 409
    with pytest.raises(ConflictError):
        documents.document_regenerate(actor=manager, document=contract)
    assert api_for(manager).delete(f"/api/v1/documents/{contract.pk}").status_code == 409
    # A second start while one runs: 409.
    assert _start(api_for, manager, contract, route).status_code == 409
    assert Notification.objects.filter(user=lawyer, kind=Notification.Kind.APPROVAL).count() == 1
    awaiting = api_for(lawyer).get("/api/v1/approvals?awaiting=me").json()
    assert [a["id"] for a in awaiting] == [body["id"]]


def test_bad_decisions_are_refused_with_clear_codes(api_for, manager, contract, route, lawyer, cfo):
    approval_id = _start(api_for, manager, contract, route).json()["id"]
    # Someone who sees the approval but is not on the current step: 403.
    response = _decide(api_for, manager, approval_id, "approve")
    assert response.status_code == 403 and response.json()["code"] == "not_on_step"
    # The finance director decides only at step 2; until then the approval is not theirs to see.
    assert _decide(api_for, cfo, approval_id, "approve").status_code == 404
    # Reject and rework need a comment: 400 naming the field.
    for decision in ("reject", "rework"):
        response = _decide(api_for, lawyer, approval_id, decision, "  ")
        assert response.status_code == 400 and "comment" in response.json()["errors"]
    assert _decide(api_for, lawyer, approval_id, "maybe").status_code == 400
    assert _decide(api_for, lawyer, approval_id, "approve").status_code == 200
    # The lawyer's step is closed: a second decision is a conflict, not a change.
    response = _decide(api_for, lawyer, approval_id, "reject", "передумал")
    assert response.status_code == 409 and response.json()["code"] == "step_closed"
    assert ApprovalTask.objects.get(assignee=lawyer).decision == "approve"


def test_rework_then_resubmission_starts_a_new_round_and_keeps_the_history(
    api_for, manager, contract, route, lawyer, cfo
):
    first = _start(api_for, manager, contract, route).json()["id"]
    assert _decide(api_for, lawyer, first, "rework", "Пункт 5.2: неустойка 0,1 % в день").status_code == 200
    contract.refresh_from_db()
    assert contract.status == DocumentStatus.REWORK
    assert Notification.objects.filter(user=manager, title__contains="0,1 %").exists()
    # The same version cannot be sent again: a new one first.
    response = _start(api_for, manager, contract, route)
    assert response.status_code == 409 and response.json()["code"] == "needs_new_version"
    add_version(contract, "Договор поставки, редакция 2")
    second = _start(api_for, manager, contract, route).json()
    assert second["round"] == 2 and second["document_version"] == 2
    assert _decide(api_for, lawyer, second["id"], "approve").status_code == 200
    assert _decide(api_for, cfo, second["id"], "approve", "Согласовано").status_code == 200

    rounds = api_for(manager).get(f"/api/v1/documents/{contract.pk}/approval").json()
    assert [(r["round"], r["status"]) for r in rounds] == [(1, "rework"), (2, "approved")]
    assert rounds[0]["steps"][0]["tasks"][0]["comment"] == "Пункт 5.2: неустойка 0,1 % в день"
    contract.refresh_from_db()
    assert contract.status == DocumentStatus.APPROVED
    kinds = list(
        ApprovalEvent.objects.filter(deal=contract.deal).order_by("at", "id").values_list("kind", flat=True)
    )
    assert kinds[0] == "submitted" and "rework" in kinds and kinds[-1] == "approved"


def test_the_approved_pdf_carries_the_approval_sheet(
    api_for, manager, contract, route, lawyer, cfo, django_capture_on_commit_callbacks
):
    approval_id = _start(api_for, manager, contract, route).json()["id"]
    _decide(api_for, lawyer, approval_id, "approve", "Юридических замечаний нет")
    with django_capture_on_commit_callbacks(execute=True):  # the worker appends the sheet after commit
        _decide(api_for, cfo, approval_id, "approve")
    contract.refresh_from_db()
    approved = contract.versions.get(approved=True)
    assert contract.current_version == approved.version == 2
    data = file_read(approved.file)
    assert pdf_pages(data) == 2  # the document's page and the sheet
    text = pdf_text(data)
    assert "Договор поставки" in text
    sheet = text.split("\f")[1]
    for expected in (
        "Лист согласования",
        "Новиков Павел Андреевич",
        "Белова Марина Сергеевна",
        "Юрист",
        "Финансовый директор",
        "Согласовано",
        "Юридических замечаний нет",
        "Согласующий",
    ):
        assert expected in sheet, expected
    body = api_for(manager).get(f"/api/v1/approvals/{approval_id}").json()
    assert body["approved_version"] == 2
    # The approved document may get a new version later; the approved one stays marked.
    versions = api_for(manager).get(f"/api/v1/documents/{contract.pk}").json()["versions"]
    assert [(v["version"], v["approved"]) for v in versions] == [(2, True), (1, False)]


def test_reject_ends_the_route(api_for, manager, contract, route, lawyer, cfo):
    approval_id = _start(api_for, manager, contract, route).json()["id"]
    assert (
        _decide(api_for, lawyer, approval_id, "reject", "Клиент в стоп-листе").json()["status"] == "rejected"
    )
    contract.refresh_from_db()
    assert contract.status == DocumentStatus.REJECTED
    assert ApprovalTask.objects.filter(assignee=cfo).count() == 0  # step 2 never started


def test_an_absent_approvers_step_goes_to_the_deputy_and_the_record_says_for_whom(
    api_for, manager, contract, route, lawyer, lawyer2, cfo, django_capture_on_commit_callbacks
):
    today = datetime.date.today()
    Absence.objects.create(user=lawyer, start=today, end=today + datetime.timedelta(days=3), backup=lawyer2)
    approval_id = _start(api_for, manager, contract, route).json()["id"]
    assert _decide(api_for, lawyer, approval_id, "approve").status_code == 404  # not theirs while away
    assert _decide(api_for, lawyer2, approval_id, "approve", "За Новикова").status_code == 200
    task = ApprovalTask.objects.get(assignee=lawyer2)
    assert task.on_behalf_of == lawyer and task.reason == "deputy"
    with django_capture_on_commit_callbacks(execute=True):
        _decide(api_for, cfo, approval_id, "approve")
    contract.refresh_from_db()
    text = pdf_text(file_read(contract.versions.get(approved=True).file))
    assert "Киселёв Олег Петрович" in text and "за Новиков Павел Андреевич" in text


def test_a_deactivated_approver_hands_the_step_to_the_deputy_or_the_owner_is_told(
    api_for, manager, contract, route, lawyer, legal_head, cfo, admin_user
):
    from otdel.accounts.services import user_update

    approval_id = _start(api_for, manager, contract, route).json()["id"]
    user_update(actor=admin_user, user=lawyer, is_active=False)
    task = ApprovalTask.objects.get(assignee=legal_head)  # the head of the lawyer's department
    assert task.on_behalf_of == lawyer and task.reason == "replaced"
    assert _decide(api_for, legal_head, approval_id, "approve").status_code == 200
    # The finance director has no deputy and no head: the sender is told.
    user_update(actor=admin_user, user=cfo, is_active=False)
    assert Notification.objects.filter(user=manager, key__startswith="approval-approver-left").exists()


def test_step_modes_and_amount_thresholds(
    admin_user, manager, deal, make_document, lawyer, lawyer2, legal_head, cfo
):
    route = services.route_save(
        actor=admin_user,
        name="Крупные договоры",
        document_kinds=["contract"],
        steps=[
            {"name": "Любой юрист", "mode": "any", "approvers": [{"user": lawyer.pk}, {"user": lawyer2.pk}]},
            {
                "name": "Кворум",
                "mode": "quorum",
                "quorum": 2,
                "approvers": [{"department": legal_head.department_id}],
            },
            {
                "name": "По очереди",
                "mode": "all",
                "sequential": True,
                "approvers": [{"user": lawyer2.pk}, {"user": lawyer.pk}],
            },
            {"name": "CFO", "approvers": [{"user": cfo.pk}], "min_amount": "1000000"},
        ],
    )
    deal.amount = 500000
    deal.save()
    document = make_document(deal)
    approval = services.approval_start(actor=manager, document=document, route=route)
    assert approval.stages.count() == 3  # under 1 000 000: no CFO step
    services.approval_decide(actor=lawyer2, approval=approval, decision="approve")
    first = approval.stages.get(position=0)
    assert first.status == StageStatus.APPROVED  # "any": one approval closed the step
    assert first.tasks.get(assignee=lawyer).decision == ""
    services.approval_decide(actor=lawyer, approval=approval, decision="approve")  # step 2: quorum 1 of 2
    stage = approval.stages.get(position=1)
    assert stage.status == StageStatus.ACTIVE
    services.approval_decide(actor=legal_head, approval=approval, decision="approve")
    stage.refresh_from_db()
    assert stage.status == StageStatus.APPROVED
    assert stage.tasks.filter(assignee=lawyer2, decision="").exists()  # the third never had to decide
    # One after another: lawyer waits for lawyer2.
    from otdel.core.exceptions import ApiError

    with pytest.raises(ApiError) as refused:
        services.approval_decide(actor=lawyer, approval=approval, decision="approve")
    assert refused.value.status == 403
    services.approval_decide(actor=lawyer2, approval=approval, decision="approve")
    services.approval_decide(actor=lawyer, approval=approval, decision="approve")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED

    deal.amount = 2000000
    deal.save()
    big = make_document(deal)
    assert services.approval_start(actor=manager, document=big, route=route).stages.count() == 4


def test_routes_api_validates_and_only_admins_and_the_head_edit(api_for, admin_user, head, manager, lawyer):
    good = {
        "name": "Счета",
        "document_kinds": ["invoice"],
        "steps": [
            {
                "name": "Бухгалтерия",
                "mode": "quorum",
                "quorum": 1,
                "approvers": [{"role": "approver"}],
                "deadline_hours": 4,
            }
        ],
    }
    assert api_for(manager).post("/api/v1/approval-routes", good, format="json").status_code == 403
    response = api_for(head).post("/api/v1/approval-routes", good, format="json")
    assert response.status_code == 201 and response.json()["steps"][0]["deadline_hours"] == 4
    for bad, field in (
        ({**good, "steps": []}, "steps"),
        ({**good, "document_kinds": []}, "document_kinds"),
        ({**good, "steps": [{"name": "x", "approvers": [{"user": 999999}]}]}, "steps[0].approvers[0]"),
        ({**good, "steps": [{"name": "x", "approvers": [{"role": "pilot"}]}]}, "steps[0].approvers[0]"),
        (
            {**good, "steps": [{"name": "x", "mode": "most", "approvers": [{"role": "approver"}]}]},
            "steps[0].mode",
        ),
    ):
        response = api_for(admin_user).post("/api/v1/approval-routes", bad, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], (bad, response.json())
    route_id = api_for(admin_user).get("/api/v1/approval-routes").json()[0]["id"]
    assert api_for(lawyer).put(f"/api/v1/approval-routes/{route_id}", good, format="json").status_code == 403


def test_a_route_for_another_kind_or_with_nobody_to_decide_is_refused(
    api_for, manager, contract, admin_user, lawyer
):
    invoices = services.route_save(
        actor=admin_user,
        name="Счета",
        document_kinds=["invoice"],
        steps=[{"name": "x", "approvers": [{"user": lawyer.pk}]}],
    )
    response = _start(api_for, manager, contract, invoices)
    assert response.status_code == 400 and "route" in response.json()["errors"]
    nobody = services.route_save(
        actor=admin_user,
        name="Никто",
        document_kinds=["contract"],
        steps=[{"name": "x", "approvers": [{"head_of": "responsible"}]}],
    )
    contract.deal.responsible.department.head = None
    contract.deal.responsible.department.save()
    response = _start(api_for, manager, contract, nobody)
    assert response.status_code == 400 and response.json()["code"] == "no_approver"
    contract.refresh_from_db()
    assert contract.status == DocumentStatus.READY  # nothing half-written


def test_approvers_are_told_by_email_too_when_they_chose_it(
    manager, contract, route, lawyer, mailoutbox, django_capture_on_commit_callbacks
):
    NotificationSettings.objects.create(user=lawyer, channels={"approval": ["email"]})
    with django_capture_on_commit_callbacks(execute=True):
        services.approval_start(actor=manager, document=contract, route=route)
    deliveries_drain()
    assert len(mailoutbox) == 1
    assert contract.number in mailoutbox[0].subject and mailoutbox[0].to == [lawyer.email]
    assert "/approvals/" in mailoutbox[0].body

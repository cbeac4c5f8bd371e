"""Destroying a person (152-FZ) reaches what people wrote about their deals in approvals."""

import pytest

from otdel.approvals import services
from otdel.approvals.models import ApprovalEvent, ApprovalTask, DepartmentRequest, RequestAttachment
from otdel.documents.storage import documents_storage
from otdel.privacy.destruction import ERASED, contact_destroy

NAME = "Иванов Иван Иванович"


@pytest.mark.django_db
def test_decision_comments_history_and_department_requests_are_erased(
    admin_user,
    manager,
    deal,
    contract,
    route,
    lawyer,
    legal,
    documents_files,
    django_capture_on_commit_callbacks,
):
    approval = services.approval_start(actor=manager, document=contract, route=route)
    services.approval_decide(
        actor=lawyer,
        approval=approval,
        decision="rework",
        comment=f"{NAME} просит отсрочку, +7 916 123-45-67",
    )
    request = services.request_create(
        actor=manager,
        deal=deal,
        department=legal,
        title=f"Проверить доверенность {NAME}",
        body="Скан паспорта во вложении",
        attachments=[("паспорт.pdf", f"%PDF {NAME}".encode(), "application/pdf")],
    )
    path = request.attachments.get().file
    storage = documents_storage()
    assert storage.exists(path)
    assert ApprovalEvent.objects.filter(deal=deal, text__contains=NAME).exists()

    with django_capture_on_commit_callbacks(execute=True):
        act = contact_destroy(actor=admin_user, contact=deal.contact, reason="Требование субъекта")

    task = ApprovalTask.objects.get(decision="rework")
    assert (task.comment, task.assignee) == (ERASED, lawyer)  # who decided what stays
    assert not ApprovalEvent.objects.filter(text__contains="Иванов").exists()
    assert ApprovalEvent.objects.filter(deal=deal).exists()
    request.refresh_from_db()
    assert (request.title, request.body, request.department) == (ERASED, "", legal)
    attachment = RequestAttachment.objects.get()
    assert (attachment.file, attachment.filename) == ("", ERASED)
    assert not storage.exists(path)
    assert "approvals.DepartmentRequest" in str(act.event_log)  # the act says what was erased
    assert DepartmentRequest.objects.count() == 1

"""Requests from a deal to a department: the department's queue assigns a person, the SLA clock runs,
the statuses move new -> in progress -> done / declined (with a comment), the inbox and the deal card
show them."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from otdel.approvals import services
from otdel.approvals.models import DepartmentRequest, RequestStatus
from otdel.automation.models import Notification, SlaTimer
from otdel.routing.models import Queue, QueueMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def legal_desk(admin_user, legal, lawyer):
    queue = Queue.objects.create(code="legal", name="Юристы")
    QueueMember.objects.create(queue=queue, user=lawyer)
    return services.desk_save(actor=admin_user, department=legal, queue=queue, sla_hours=6)


def test_a_request_from_a_deal_goes_through_the_departments_queue(
    api_for, manager, deal, legal, legal_desk, lawyer
):
    due = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    response = api_for(manager).post(
        "/api/v1/department-requests",
        {
            "department": legal.pk,
            "deal": deal.pk,
            "title": "Проверить договор клиента",
            "body": "Их редакция",
            "due_at": due,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "new" and body["assignee"] == lawyer.pk
    timer = SlaTimer.objects.get(key=f"department-request:{body['id']}")
    assert timer.state == SlaTimer.State.RUNNING
    assert Notification.objects.filter(user=lawyer, key=f"department-request:{body['id']}").exists()

    url = f"/api/v1/department-requests/{body['id']}/status"
    # The sales manager asked; only the department answers.
    assert api_for(manager).post(url, {"status": "done"}, format="json").status_code == 403
    assert (
        api_for(lawyer).post(url, {"status": "in_progress"}, format="json").json()["status"] == "in_progress"
    )
    response = api_for(lawyer).post(url, {"status": "declined"}, format="json")
    assert response.status_code == 400 and "comment" in response.json()["errors"]
    response = api_for(lawyer).post(url, {"status": "done", "comment": "Замечаний нет"}, format="json")
    assert response.status_code == 200 and response.json()["closed_at"]
    assert api_for(lawyer).post(url, {"status": "declined", "comment": "x"}, format="json").status_code == 409
    timer.refresh_from_db()
    assert timer.state == SlaTimer.State.MET
    assert Notification.objects.filter(user=manager, key=f"department-request-closed:{body['id']}").exists()


def test_bad_requests_and_strangers(api_for, manager, other_manager, deal, legal):
    bad = [
        ({"department": legal.pk, "deal": deal.pk, "title": ""}, "title"),
        ({"department": 999999, "deal": deal.pk, "title": "x"}, "department"),
        ({"department": legal.pk, "deal": 999999, "title": "x"}, "deal"),
        (
            {"department": legal.pk, "deal": deal.pk, "title": "x", "due_at": "2020-01-01T10:00:00+03:00"},
            "due_at",
        ),
    ]
    for payload, field in bad:
        response = api_for(manager).post("/api/v1/department-requests", payload, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], (payload, response.json())
    assert DepartmentRequest.objects.count() == 0
    # Another manager's deal is out of reach: it does not exist for them.
    response = api_for(other_manager).post(
        "/api/v1/department-requests", {"department": legal.pk, "deal": deal.pk, "title": "x"}, format="json"
    )
    assert response.status_code == 400
    made = services.request_create(actor=manager, deal=deal, department=legal, title="Резерв")
    assert api_for(other_manager).get(f"/api/v1/department-requests/{made.pk}").status_code == 404


def test_inbox_and_deal_card_show_the_requests_with_attachments(
    client, manager, lawyer, deal, legal, legal_desk
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(manager)
    response = client.post(
        reverse("approvals_request_create", args=[deal.pk]),
        {
            "department": legal.pk,
            "title": "Проверить протокол разногласий",
            "body": "Клиент прислал протокол",
            "attachments": [SimpleUploadedFile("протокол.docx", b"PK\x03\x04 test")],
        },
    )
    assert response.status_code == 200
    assert "Проверить протокол разногласий" in response.content.decode()
    request = DepartmentRequest.objects.get()
    assert request.attachments.get().filename == "протокол.docx"
    client.force_login(lawyer)
    inbox = client.get(reverse("approvals_department_inbox", args=[legal.pk])).content.decode()
    assert "Проверить протокол разногласий" in inbox and "протокол.docx" in inbox
    file = client.get(reverse("approvals_request_file", args=[request.attachments.get().pk]))
    assert (
        file.status_code == 200
        and b"".join(file.streaming_content if file.streaming else [file.content]) == b"PK\x03\x04 test"
    )
    client.post(
        reverse("approvals_request_status", args=[request.pk]),
        {"status": "declined", "comment": "Не наш вопрос"},
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.DECLINED and request.comment == "Не наш вопрос"
    client.force_login(manager)
    block = client.get(reverse("approvals_deal_block", args=[deal.pk])).content.decode()
    assert "Не наш вопрос" in block

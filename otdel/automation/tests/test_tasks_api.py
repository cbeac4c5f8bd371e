"""Tasks API (CONTRACTS "Tasks, automation, SLA"): list with filters, create, complete."""

import datetime

import pytest
from django.utils import timezone

from otdel.crm.models import Task
from otdel.crm.tests.factories import ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_create_list_and_complete(api_for, manager, pipeline):
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    api = api_for(manager)
    due = (timezone.now() + datetime.timedelta(hours=2)).isoformat()
    response = api.post(
        "/api/v1/tasks",
        {"title": "Позвонить", "assignee": manager.pk, "due_at": due, "deal": deal.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    task_id = response.json()["id"]
    assert response.json()["state"] == "open"
    assert response.json()["contact"] == deal.contact_id

    listed = api.get(f"/api/v1/tasks?deal={deal.pk}&state=open").json()
    assert [t["id"] for t in listed["results"]] == [task_id]
    assert "next" in listed

    done = api.post(f"/api/v1/tasks/{task_id}/complete")
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert api.get(f"/api/v1/tasks?deal={deal.pk}&state=open").json()["results"] == []
    assert [t["id"] for t in api.get("/api/v1/tasks?state=done").json()["results"]] == [task_id]


def test_filters_overdue_assignee_contact_lead(api_for, manager, other_manager, admin_user):
    contact = ContactFactory(responsible=manager)
    lead = LeadFactory(contact=contact, responsible=manager)
    past = timezone.now() - datetime.timedelta(hours=1)
    late = Task.objects.create(title="late", assignee=manager, contact=contact, due_at=past)
    on_lead = Task.objects.create(title="lead", assignee=other_manager, lead=lead)
    api = api_for(admin_user)
    assert [t["id"] for t in api.get("/api/v1/tasks?state=overdue").json()["results"]] == [late.pk]
    assert [t["id"] for t in api.get(f"/api/v1/tasks?lead={lead.pk}").json()["results"]] == [on_lead.pk]
    assert [t["id"] for t in api.get(f"/api/v1/tasks?assignee={other_manager.pk}").json()["results"]] == [
        on_lead.pk
    ]
    assert {t["id"] for t in api.get(f"/api/v1/tasks?contact={contact.pk}").json()["results"]} == {late.pk}


def test_bad_input_is_400_not_500(api_for, manager):
    api = api_for(manager)
    assert api.get("/api/v1/tasks?state=sometime").status_code == 400
    assert api.get("/api/v1/tasks?deal=abc").status_code == 400
    response = api.post("/api/v1/tasks", {"title": "x"}, format="json")
    assert response.status_code == 400
    assert "contact" in response.json()["errors"]
    response = api.post("/api/v1/tasks", {"title": "", "contact": 999999}, format="json")
    assert response.status_code == 400


def test_someone_elses_task_is_404(api_for, manager, other_manager):
    contact = ContactFactory(responsible=other_manager)
    task = Task.objects.create(title="theirs", assignee=other_manager, contact=contact)
    assert api_for(manager).post(f"/api/v1/tasks/{task.pk}/complete").status_code == 404
    assert Task.objects.get(pk=task.pk).done_at is None

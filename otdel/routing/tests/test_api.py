"""Queues, routing settings, the decision log, the what-if tester and blocked identities via the API."""

import datetime

import pytest

from otdel.comms.services import ingest_event
from otdel.comms.telephony.generic import call_event
from otdel.crm.tests.factories import ContactFactory, IdentityFactory
from otdel.routing.models import BlockedIdentity, Queue, RoutingDecision, RoutingSettings


@pytest.fixture
def routing_admin(admin_user, api_for):
    return api_for(admin_user)


@pytest.mark.django_db
def test_create_queue_and_point_settings_at_it(routing_admin, manager, other_manager, office_manager):
    response = routing_admin.post(
        "/api/v1/queues",
        {
            "code": "sales",
            "name": "Продажи",
            "strategy": "round_robin",
            "members": [manager.pk, other_manager.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert sorted(response.json()["members"]) == sorted([manager.pk, other_manager.pk])
    response = routing_admin.put(
        "/api/v1/routing/settings",
        {
            "non_target_destination": {"user": office_manager.pk},
            "default_queue": "sales",
            "fallback_user": office_manager.pk,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    cfg = RoutingSettings.load()
    assert cfg.default_queue.code == "sales" and cfg.non_target_user == office_manager
    assert response.json()["non_target_destination"] == {"user": office_manager.pk}


@pytest.mark.django_db
def test_settings_pointing_at_empty_queue_or_inactive_user_are_refused(routing_admin, manager):
    Queue.objects.create(code="empty", name="Пустая")
    response = routing_admin.put("/api/v1/routing/settings", {"default_queue": "empty"}, format="json")
    assert response.status_code == 400
    assert "default_queue" in response.json()["errors"]
    manager.is_active = False
    manager.save()
    response = routing_admin.put("/api/v1/routing/settings", {"fallback_user": manager.pk}, format="json")
    assert response.status_code == 400 and "fallback_user" in response.json()["errors"]
    response = routing_admin.put(
        "/api/v1/routing/settings", {"non_target_destination": {"user": 999999}}, format="json"
    )
    assert response.status_code == 400
    assert RoutingSettings.load().default_queue is None


@pytest.mark.django_db
def test_queue_with_inactive_member_is_refused(routing_admin, manager):
    manager.is_active = False
    manager.save()
    response = routing_admin.post(
        "/api/v1/queues", {"code": "q", "name": "Q", "members": [manager.pk]}, format="json"
    )
    assert response.status_code == 400 and "members" in response.json()["errors"]
    assert not Queue.objects.exists()


@pytest.mark.django_db
def test_sales_manager_cannot_change_routing(api_for, manager):
    assert api_for(manager).put("/api/v1/routing/settings", {}, format="json").status_code == 403
    assert api_for(manager).get("/api/v1/routing/decisions").status_code == 403


@pytest.mark.django_db
def test_decision_log_explains_where_a_call_went(routing_admin, manager):
    manager.work_days = list(range(7))
    manager.work_start, manager.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    manager.save()
    contact = ContactFactory(responsible=manager)
    IdentityFactory(contact=contact, value="+79123456789")
    ingest_event(
        call_event(
            provider="generic",
            call_id="x1",
            event="ringing",
            direction="in",
            caller="89123456789",
            called="",
            at=datetime.datetime.now(datetime.UTC),
        )
    )
    rows = routing_admin.get("/api/v1/routing/decisions", {"contact": contact.pk}).json()["results"]
    assert len(rows) == 1
    assert rows[0]["reason"] == "contact_owner" and rows[0]["user"] == manager.pk
    assert RoutingDecision.objects.get().input["identity"] == ["phone", "+79123456789"]


@pytest.mark.django_db
def test_what_if_writes_nothing(routing_admin, office_manager):
    contact = ContactFactory(non_target=True)
    IdentityFactory(contact=contact, value="+79123456789")
    body = routing_admin.get(
        "/api/v1/routing/what-if", {"identity": "8 912 345 67 89", "channel": "call"}
    ).json()
    assert body["reason"] == "non_target" and body["contact"] == contact.pk
    assert not RoutingDecision.objects.exists()


@pytest.mark.django_db
def test_blocked_number_without_contact_routes_as_non_target(
    routing_admin, api_for, integration_user, office_manager
):
    response = routing_admin.post(
        "/api/v1/routing/blocked",
        {"kind": "phone", "value": "8 (495) 123-45-67", "reason": "spam"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert BlockedIdentity.objects.get().value == "+74951234567"
    route = api_for(integration_user).get("/api/v1/telephony/route", {"caller": "+7 495 123 45 67"}).json()
    assert route["reason"] == "non_target"
    bad = routing_admin.post(
        "/api/v1/routing/blocked", {"kind": "phone", "value": "12", "reason": "spam"}, format="json"
    )
    assert bad.status_code == 400 and "value" in bad.json()["errors"]

"""Routing and working-time pages: who may open them, what the forms refuse, what the buttons change."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from otdel.accounts.models import Absence, Role
from otdel.accounts.tests.factories import UserFactory
from otdel.core.models import CalendarDay, ObjectChange
from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Lead
from otdel.routing import services
from otdel.routing.models import BlockedIdentity, Queue, QueueMember, RoutingDecision, RoutingSettings
from otdel.routing.nontarget import contact_mark_non_target, contact_restore_target
from otdel.routing.triage import lead_triage

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def changes_of(instance) -> list[ObjectChange]:
    content_type = ContentType.objects.get_for_model(type(instance))
    return list(ObjectChange.objects.filter(content_type=content_type, object_id=instance.pk).order_by("id"))


@pytest.fixture
def call_center(db):
    return UserFactory(username="callcenter", role=Role.CALL_CENTER, extension="300")


@pytest.fixture
def sales_queue(admin_user, manager, other_manager):
    return services.queue_create(
        actor=admin_user, code="sales", name="Продажи", members=[manager, other_manager]
    )


@pytest.fixture
def supplier(office_manager):
    """A person with a phone and an untriaged lead: on the office manager's desk."""
    contact = crm_services.contact_create(
        actor=office_manager, full_name="Снабженец Сидор", identities=[("phone", "+79123456789")]
    )
    crm_services.lead_create(actor=office_manager, contact=contact, source="call", channel="call")
    return contact


# --- who may open what -------------------------------------------------------------------------


ROUTING_PAGES = [
    "routing_settings",
    "queue_list",
    "queue_create",
    "routing_log",
    "routing_what_if",
    "schedule_list",
]


@pytest.mark.parametrize("page", ROUTING_PAGES)
def test_routing_pages_open_for_admin_and_head_of_sales_only(
    page, admin_user, head, manager, office_manager, call_center
):
    url = reverse(page)
    for user in (admin_user, head):
        response = client_for(user).get(url)
        assert response.status_code == 200, (page, user.role)
        assert 'data-testid="routing-tabs"' in response.content.decode()
    for user in (manager, office_manager, call_center):
        assert client_for(user).get(url).status_code == 404, (page, user.role)


def test_anonymous_visitor_is_sent_to_sign_in():
    response = Client().get(reverse("routing_settings"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_queue_edit_page_is_for_routing_managers_only(sales_queue, admin_user, head, manager, office_manager):
    url = reverse("queue_edit", args=[sales_queue.pk])
    assert client_for(admin_user).get(url).status_code == 200
    assert client_for(head).get(url).status_code == 200
    assert client_for(manager).get(url).status_code == 404
    assert client_for(office_manager).get(url).status_code == 404


def test_non_target_inbox_is_for_triage_and_supervisors(
    admin_user, head, manager, office_manager, call_center
):
    url = reverse("non_target_inbox")
    for user in (admin_user, head, office_manager, call_center):
        assert client_for(user).get(url).status_code == 200, user.role
    assert client_for(manager).get(url).status_code == 404


def test_production_calendar_is_for_administrators_only(admin_user, head, manager, office_manager):
    url = reverse("production_calendar")
    assert client_for(admin_user).get(url).status_code == 200
    for user in (head, manager, office_manager):
        assert client_for(user).get(url).status_code == 404


def test_absences_visible_to_the_person_their_head_and_admin(
    admin_user, head, manager, other_manager, office_manager
):
    url = reverse("absence_list", args=[manager.pk])
    own = client_for(manager).get(url)
    assert own.status_code == 200
    assert 'data-testid="absence-create"' not in own.content.decode()  # seen, changed by the head
    for user in (head, admin_user):
        response = client_for(user).get(url)
        assert response.status_code == 200 and 'data-testid="absence-create"' in response.content.decode()
    assert client_for(other_manager).get(url).status_code == 404
    assert client_for(office_manager).get(url).status_code == 404
    assert client_for(manager).get(reverse("absence_create", args=[manager.pk])).status_code == 404


def test_head_of_sales_manages_only_their_department(head, manager, office_manager):
    assert client_for(head).get(reverse("absence_list", args=[office_manager.pk])).status_code == 404
    response = client_for(head).get(reverse("schedule_list"))
    content = response.content.decode()
    assert 'data-user="manager"' in content and 'data-user="office"' not in content


def test_navigation_shows_each_role_its_entries(admin_user, head, manager, office_manager):
    page = client_for(office_manager).get(reverse("non_target_inbox")).content.decode()
    assert 'data-testid="nav-non-target"' in page and 'data-testid="nav-routing"' not in page
    page = client_for(head).get(reverse("routing_settings")).content.decode()
    assert 'data-testid="nav-non-target"' in page and 'data-testid="nav-routing"' in page
    page = client_for(manager).get(reverse("absence_list", args=[manager.pk])).content.decode()
    assert 'data-testid="nav-non-target"' not in page and 'data-testid="nav-routing"' not in page
    assert reverse("absence_list", args=[manager.pk]) in page


# --- routing settings --------------------------------------------------------------------------


def settings_data(**overrides):
    data = {
        "non_target_user": "",
        "non_target_queue": "",
        "default_queue": "",
        "fallback_user": "",
        "repeat_rule": "attach",
        "callback_minutes": "30",
    }
    data.update({k: str(v) for k, v in overrides.items()})
    return data


def test_settings_are_saved(admin_user, office_manager, sales_queue):
    response = client_for(admin_user).post(
        reverse("routing_settings"),
        settings_data(
            non_target_user=office_manager.pk,
            default_queue=sales_queue.pk,
            fallback_user=office_manager.pk,
            callback_minutes=15,
        ),
    )
    assert response.status_code == 302
    cfg = RoutingSettings.load()
    assert cfg.non_target_user == office_manager and cfg.non_target_queue is None
    assert cfg.default_queue == sales_queue and cfg.fallback_user == office_manager
    assert cfg.callback_minutes == 15


def test_settings_refuse_an_empty_queue_and_save_nothing(admin_user, office_manager):
    empty = Queue.objects.create(code="empty", name="Пустая")
    before = RoutingSettings.load()
    logged = ObjectChange.objects.count()
    response = client_for(admin_user).post(
        reverse("routing_settings"),
        settings_data(non_target_user=office_manager.pk, default_queue=empty.pk, callback_minutes=5),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-field-error="default_queue"' in content
    assert "has no active members" in content
    cfg = RoutingSettings.load()
    assert cfg.default_queue is None and cfg.non_target_user is None and cfg.callback_minutes == 30
    assert cfg.version == before.version and ObjectChange.objects.count() == logged


def test_settings_refuse_an_inactive_person_with_the_message(admin_user, office_manager, sales_queue):
    office_manager.is_active = False
    office_manager.save()
    response = client_for(admin_user).post(
        reverse("routing_settings"),
        settings_data(
            non_target_user=office_manager.pk, fallback_user=office_manager.pk, default_queue=sales_queue.pk
        ),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-field-error="non_target_user"' in content
    assert f"No active user with id {office_manager.pk}" in content
    cfg = RoutingSettings.load()
    assert cfg.non_target_user is None and cfg.fallback_user is None and cfg.default_queue is None


def test_settings_refuse_an_empty_non_target_queue_on_its_field(admin_user):
    empty = Queue.objects.create(code="nt", name="Нецелевые")
    response = client_for(admin_user).post(
        reverse("routing_settings"), settings_data(non_target_queue=empty.pk)
    )
    assert 'data-field-error="non_target_queue"' in response.content.decode()
    assert RoutingSettings.load().non_target_queue is None


# --- queues ------------------------------------------------------------------------------------


def queue_data(**overrides):
    data = {
        "code": "support",
        "name": "Поддержка",
        "strategy": "least_busy",
        "off_hours": "next_morning",
        "duty_user": "",
        "voicemail": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_queue_create_with_members(head, manager, other_manager):
    response = client_for(head).post(
        reverse("queue_create"), {**queue_data(), "members": [manager.pk, other_manager.pk]}
    )
    assert response.status_code == 302
    queue = Queue.objects.get(code="support")
    assert queue.strategy == "least_busy" and queue.name == "Поддержка"
    assert set(QueueMember.objects.filter(queue=queue).values_list("user_id", flat=True)) == {
        manager.pk,
        other_manager.pk,
    }


def test_queue_create_refuses_a_taken_code_and_a_duty_rule_without_a_person(head, sales_queue, manager):
    response = client_for(head).post(
        reverse("queue_create"), {**queue_data(code="sales"), "members": [manager.pk]}
    )
    assert response.status_code == 200
    assert 'data-field-error="code"' in response.content.decode()
    response = client_for(head).post(reverse("queue_create"), queue_data(off_hours="duty"))
    assert 'data-field-error="duty_user"' in response.content.decode()
    assert not Queue.objects.filter(code="support").exists()


def test_queue_edit_changes_fields_and_members_and_shows_the_counts(admin_user, sales_queue, manager, head):
    QueueMember.objects.filter(queue=sales_queue, user=manager).update(assigned_count=7)
    response = client_for(admin_user).post(
        reverse("queue_edit", args=[sales_queue.pk]),
        {
            **queue_data(code="renamed", name="Отдел продаж", strategy="round_robin", off_hours="duty"),
            "duty_user": head.pk,
            "members": [manager.pk, head.pk],
        },
    )
    assert response.status_code == 302
    sales_queue.refresh_from_db()
    assert sales_queue.code == "sales"  # the code is set once
    assert (
        sales_queue.name == "Отдел продаж"
        and sales_queue.off_hours == "duty"
        and sales_queue.duty_user == head
    )
    members = set(QueueMember.objects.filter(queue=sales_queue).values_list("user_id", flat=True))
    assert members == {manager.pk, head.pk}
    listing = client_for(admin_user).get(reverse("queue_list")).content.decode()
    assert "Отдел продаж" in listing
    assert '<td class="text-end" data-testid="assigned-count">7</td>' in listing


# --- absences ----------------------------------------------------------------------------------


def absence_data(start, end, backup=None, kind="vacation"):
    return {
        "kind": kind,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "backup": backup.pk if backup else "",
        "comment": "",
    }


def test_absence_create_edit_delete(head, manager, other_manager):
    client = client_for(head)
    start = datetime.date(2026, 7, 6)
    response = client.post(
        reverse("absence_create", args=[manager.pk]),
        absence_data(start, start + datetime.timedelta(days=13), other_manager),
    )
    assert response.status_code == 302
    absence = Absence.objects.get(user=manager)
    assert absence.backup == other_manager
    assert changes_of(absence)[0].action == ObjectChange.Action.CREATE
    response = client.post(
        reverse("absence_edit", args=[absence.pk]),
        absence_data(start, start + datetime.timedelta(days=6), other_manager, kind="trip"),
    )
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.kind == "trip" and absence.end == datetime.date(2026, 7, 12)
    assert client.post(reverse("absence_delete", args=[absence.pk])).status_code == 302
    assert not Absence.objects.filter(user=manager).exists()


def test_absence_refuses_overlap_backup_self_and_end_before_start(head, manager, other_manager):
    client = client_for(head)
    Absence.objects.create(user=manager, start=datetime.date(2026, 8, 3), end=datetime.date(2026, 8, 14))
    url = reverse("absence_create", args=[manager.pk])

    response = client.post(
        url, absence_data(datetime.date(2026, 8, 10), datetime.date(2026, 8, 20), other_manager)
    )
    assert response.status_code == 200
    assert 'data-field-error="start"' in response.content.decode()
    assert "cannot overlap" in response.content.decode()

    response = client.post(url, absence_data(datetime.date(2026, 9, 1), datetime.date(2026, 9, 5), manager))
    assert 'data-field-error="backup"' in response.content.decode()

    response = client.post(
        url, absence_data(datetime.date(2026, 9, 10), datetime.date(2026, 9, 5), other_manager)
    )
    assert 'data-field-error="end"' in response.content.decode()

    assert Absence.objects.filter(user=manager).count() == 1


def test_schedule_shows_who_is_absent_now_with_the_backup(admin_user, manager, other_manager):
    today = timezone.localdate()
    Absence.objects.create(
        user=manager, start=today, end=today + datetime.timedelta(days=2), backup=other_manager
    )
    content = client_for(admin_user).get(reverse("schedule_list")).content.decode()
    row = content.split('data-user="manager"')[1].split("</tr>")[0]
    assert 'data-status="absent"' in row and other_manager.get_full_name() in row


# --- production calendar -----------------------------------------------------------------------


def test_calendar_add_edit_delete(admin_user):
    client = client_for(admin_user)
    response = client.post(
        reverse("production_calendar"), {"date": "2031-01-01", "kind": "holiday", "note": "Новый год"}
    )
    assert response.status_code == 302 and "year=2031" in response["Location"]
    day = CalendarDay.objects.get(date=datetime.date(2031, 1, 1))
    assert day.kind == "holiday"
    assert (
        client.get(reverse("production_calendar") + "?year=2031")
        .content.decode()
        .count('data-date="2031-01-01"')
        == 1
    )
    response = client.post(
        reverse("calendar_day_edit", args=[day.pk]), {"kind": "short", "note": "Сокращённый"}
    )
    assert response.status_code == 302
    day.refresh_from_db()
    assert day.kind == "short" and day.note == "Сокращённый"
    assert [c.action for c in changes_of(day)] == [ObjectChange.Action.CREATE, ObjectChange.Action.UPDATE]
    client.post(reverse("calendar_day_delete", args=[day.pk]))
    assert not CalendarDay.objects.filter(date=datetime.date(2031, 1, 1)).exists()


def test_calendar_refuses_a_working_weekday(admin_user):
    response = client_for(admin_user).post(
        reverse("production_calendar"), {"date": "2031-01-08", "kind": "working", "note": ""}
    )  # a Wednesday
    assert response.status_code == 200 and 'data-field-error="kind"' in response.content.decode()
    assert not CalendarDay.objects.filter(date=datetime.date(2031, 1, 8)).exists()


# --- routing log and what-if -------------------------------------------------------------------


def test_routing_log_lists_filters_and_explains(admin_user, head, manager, other_manager, supplier):
    RoutingDecision.objects.create(
        channel="call",
        input={"identity": ["phone", "+79123456789"]},
        contact=supplier,
        reason="open_deal",
        rule="deal:12",
        user=manager,
    )
    RoutingDecision.objects.create(
        channel="email",
        input={},
        reason="contact_owner",
        rule=f"contact.responsible:backup_of:{manager.pk}",
        user=other_manager,
    )
    content = client_for(head).get(reverse("routing_log")).content.decode()
    assert f"Open deal #12: its owner {manager.get_full_name()} is at work." in content
    assert (
        f"Known client: the responsible {manager.get_full_name()} is away, so their backup "
        f"{other_manager.get_full_name()} takes it."
    ) in content
    assert "+7 912 345-67-89" in content
    assert reverse("contact_detail", args=[supplier.pk]) in content

    filtered = client_for(head).get(reverse("routing_log"), {"channel": "email"}).content.decode()
    assert filtered.count('data-testid="decision-row"') == 1 and "backup" in filtered
    by_contact = client_for(head).get(reverse("routing_log"), {"contact": supplier.pk}).content.decode()
    assert by_contact.count('data-testid="decision-row"') == 1 and "Open deal #12" in by_contact
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    later = client_for(head).get(reverse("routing_log"), {"date_from": tomorrow}).content.decode()
    assert 'data-testid="decision-row"' not in later


def test_what_if_shows_non_target_for_a_number_in_another_format_and_records_nothing(
    admin_user, office_manager, sales_queue, supplier
):
    services.routing_settings_update(
        actor=admin_user, non_target_destination={"user": office_manager.pk}, default_queue="sales"
    )
    contact_mark_non_target(actor=office_manager, contact=supplier, reason="supplier")
    decisions = RoutingDecision.objects.count()
    turns = list(QueueMember.objects.values_list("assigned_count", flat=True))
    response = client_for(admin_user).get(
        reverse("routing_what_if"), {"identity": "8 (912) 345-67-89", "channel": "call"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-reason="non_target"' in content
    assert office_manager.get_full_name() in content
    assert "settings.non_target_user" in content
    assert RoutingDecision.objects.count() == decisions
    assert list(QueueMember.objects.values_list("assigned_count", flat=True)) == turns


def test_what_if_for_an_unknown_number_at_night_shows_the_queue_nobody_at_work(admin_user, sales_queue):
    services.routing_settings_update(actor=admin_user, default_queue="sales")
    response = client_for(admin_user).get(
        reverse("routing_what_if"),
        {
            "identity": "+7 495 000-00-01",
            "channel": "call",
            "queue": sales_queue.pk,
            "at": "2026-03-04T03:00",
        },
    )
    content = response.content.decode()
    assert 'data-reason="queue"' in content
    assert "Queue members at that moment" in content and "off shift" in content
    assert 'data-testid="what-if-off-hours"' in content and "next working morning" in content
    assert RoutingDecision.objects.count() == 0


# --- non-target marks --------------------------------------------------------------------------


def test_contact_card_offers_the_buttons_to_triage_not_to_sales(office_manager, manager, supplier):
    card = client_for(office_manager).get(reverse("contact_detail", args=[supplier.pk])).content.decode()
    assert 'data-testid="mark-non-target"' in card and 'data-testid="non-target-reason-supplier"' in card
    own = crm_services.contact_create(actor=manager, full_name="Клиент", responsible=manager)
    card = client_for(manager).get(reverse("contact_detail", args=[own.pk])).content.decode()
    assert 'data-testid="non-target-actions"' not in card
    response = client_for(manager).post(reverse("contact_mark_non_target", args=[own.pk]), {"reason": "spam"})
    assert response.status_code == 404
    assert not Contact.objects.get(pk=own.pk).non_target


def test_mark_non_target_then_restore_returns_the_leads_to_triage(office_manager, supplier):
    lead = Lead.objects.get(contact=supplier)
    lead_triage(actor=office_manager, lead=lead, verdict="non_target", reason="supplier")
    contact_restore_target(actor=office_manager, contact=Contact.objects.get(pk=supplier.pk))
    client = client_for(office_manager)

    response = client.post(reverse("contact_mark_non_target", args=[supplier.pk]), {"reason": "supplier"})
    assert response.status_code == 302
    contact = Contact.objects.get(pk=supplier.pk)
    assert contact.non_target and contact.non_target_reason == "supplier"
    card = client.get(reverse("contact_detail", args=[supplier.pk])).content.decode()
    assert 'data-testid="restore-target"' in card and "Supplier" in card
    inbox = client.get(reverse("non_target_inbox")).content.decode()
    assert f'data-contact-id="{supplier.pk}"' in inbox

    response = client.post(reverse("contact_restore_target", args=[supplier.pk]))
    assert response.status_code == 302
    contact = Contact.objects.get(pk=supplier.pk)
    assert not contact.non_target and contact.non_target_reason == ""
    lead.refresh_from_db()
    assert lead.verdict == "" and lead.status == Lead.Status.NEW and lead.triaged_by is None
    contact_log = changes_of(contact)
    assert any(c.changes.get("non_target") == [False, True] and c.user == office_manager for c in contact_log)
    assert any(
        c.message == "Marked as a target client again." and c.user == office_manager for c in contact_log
    )
    lead_log = changes_of(lead)
    assert any(c.changes.get("verdict") == ["non_target", ""] and c.user == office_manager for c in lead_log)


def test_call_center_marks_but_cannot_overrule(call_center, supplier):
    client = client_for(call_center)
    client.post(reverse("contact_mark_non_target", args=[supplier.pk]), {"reason": "spam"})
    assert Contact.objects.get(pk=supplier.pk).non_target
    card = client.get(reverse("contact_detail", args=[supplier.pk])).content.decode()
    assert 'data-testid="restore-target"' not in card
    response = client.post(reverse("contact_restore_target", args=[supplier.pk]), follow=True)
    assert "Only the head of sales" in response.content.decode()
    assert Contact.objects.get(pk=supplier.pk).non_target


def test_head_of_sales_restores_from_the_non_target_inbox(head, office_manager, supplier):
    contact_mark_non_target(actor=office_manager, contact=supplier, reason="job_seeker")
    client = client_for(head)
    inbox = client.get(reverse("non_target_inbox")).content.decode()
    assert f'data-contact-id="{supplier.pk}"' in inbox and "Job seeker" in inbox
    response = client.post(reverse("contact_restore_target", args=[supplier.pk]), {"next": "inbox"})
    assert response.status_code == 302 and response["Location"] == reverse("non_target_inbox")
    assert not Contact.objects.get(pk=supplier.pk).non_target


def test_mark_with_an_unknown_reason_changes_nothing(office_manager, supplier):
    client_for(office_manager).post(
        reverse("contact_mark_non_target", args=[supplier.pk]), {"reason": "boring"}
    )
    assert not Contact.objects.get(pk=supplier.pk).non_target


# --- blocked identities ------------------------------------------------------------------------


def test_block_and_unblock_a_number(office_manager):
    client = client_for(office_manager)
    response = client.post(
        reverse("blocked_identity_add"), {"kind": "phone", "value": "12", "reason": "spam", "comment": ""}
    )
    assert response.status_code == 200
    assert 'data-field-error="value"' in response.content.decode()
    assert not BlockedIdentity.objects.exists()

    response = client.post(
        reverse("blocked_identity_add"),
        {"kind": "phone", "value": "8 (495) 123-45-67", "reason": "spam", "comment": "Роботы"},
    )
    assert response.status_code == 302
    block = BlockedIdentity.objects.get()
    assert block.value == "+74951234567" and block.created_by == office_manager
    assert "+7 495 123-45-67" in client.get(reverse("non_target_inbox")).content.decode()
    client.post(reverse("blocked_identity_remove", args=[block.pk]))
    assert not BlockedIdentity.objects.exists()


def test_non_target_inbox_lists_traffic_routed_to_the_user(office_manager, call_center, supplier):
    from otdel.comms.models import Interaction

    contact_mark_non_target(actor=office_manager, contact=supplier, reason="supplier")
    Interaction.objects.create(
        kind="email",
        channel="email",
        occurred_at=timezone.now(),
        contact=supplier,
        subject="Коммерческое предложение: упаковка",
        routed_to=office_manager,
    )
    mine = client_for(office_manager).get(reverse("non_target_inbox")).content.decode()
    assert "Коммерческое предложение: упаковка" in mine
    theirs = client_for(call_center).get(reverse("non_target_inbox")).content.decode()
    assert "Коммерческое предложение: упаковка" not in theirs

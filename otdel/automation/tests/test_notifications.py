"""People are told about the work that came to them, and a salesperson never about non-target traffic."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from otdel.accounts.tests.factories import always_at_work
from otdel.automation.models import Notification
from otdel.automation.selectors import notification_list, notification_unread_count
from otdel.comms.services import InboundEvent, ingest_event
from otdel.crm import services as crm_services
from otdel.routing.models import Queue, QueueMember, RoutingSettings
from otdel.routing.nontarget import contact_mark_non_target, contact_restore_target

pytestmark = pytest.mark.django_db(transaction=True)  # handlers run on commit

EMAIL = "petrov@client.ru"


@pytest.fixture
def office(manager, other_manager, office_manager):
    always_at_work(manager, other_manager, office_manager)
    queue = Queue.objects.create(code="sales", name="Продажи")
    for user in (manager, other_manager):
        QueueMember.objects.create(queue=queue, user=user)
    cfg = RoutingSettings.load()
    cfg.default_queue, cfg.non_target_user = queue, office_manager
    cfg.save()
    return queue


@pytest.fixture
def client_of(manager, office, pipeline):
    """A client in talks with ``manager``: what they send attaches to the open deal."""
    contact = crm_services.contact_create(
        actor=manager, full_name="Петров Пётр", identities=[("email", EMAIL)], responsible=manager
    )
    crm_services.deal_create(actor=manager, title="Станки", pipeline=pipeline, contact=contact, amount="1")
    return contact


def _email(number, subject="Сроки поставки"):
    return ingest_event(
        InboundEvent(
            provider="email:1",
            external_id=f"<m{number}@client.ru>",
            kind="email",
            channel="email",
            occurred_at=timezone.now(),
            identity_kind="email",
            identity_value=EMAIL,
            subject=subject,
            body="Когда отгрузите?",
        )
    ).interaction


def _titles(user):
    return list(notification_list(user=user).values_list("title", flat=True))


def test_an_email_from_a_client_tells_their_salesperson_once(manager, other_manager, client_of):
    interaction = _email(1)
    _email(1)  # the same message fetched again
    assert _titles(manager) == ["E-mail from Петров Пётр: Сроки поставки"]
    note = Notification.objects.get(user=manager)
    assert note.url == reverse("contact_detail", args=[client_of.pk])
    assert note.key == f"interaction:{interaction.pk}" and note.contact == client_of
    assert not Notification.objects.filter(user=other_manager).exists()


def test_non_target_traffic_never_reaches_the_salesperson(manager, office_manager, admin_user, client_of):
    _email(1)
    assert notification_unread_count(user=manager) == 1
    contact_mark_non_target(actor=manager, contact=client_of, reason="supplier")
    # What was said before about them is gone from the salesperson's list and count...
    assert notification_unread_count(user=manager) == 0 and _titles(manager) == []
    # ...and what comes now goes to the office manager.
    _email(2, subject="Прайс на упаковку")
    assert _titles(manager) == []
    assert _titles(office_manager) == ["E-mail from Петров Пётр: Прайс на упаковку"]

    contact_restore_target(actor=admin_user, contact=client_of)
    assert _titles(manager) == ["E-mail from Петров Пётр: Сроки поставки"]


def test_a_missed_call_tells_who_must_call_back(manager, client_of):
    crm_services.identity_add(actor=manager, contact=client_of, kind="phone", value="+79123456789")
    start = timezone.now() - datetime.timedelta(minutes=5)
    for event, status in (("ringing", ""), ("ended", "missed")):
        ingest_event(
            InboundEvent(
                provider="generic",
                external_id="call-1",
                kind="call",
                channel="call",
                occurred_at=start,
                identity_kind="phone",
                identity_value="8 912 345-67-89",
                call_event=event,
                call_status=status,
            )
        )
    note = Notification.objects.get(user=manager)
    assert note.kind == "missed_call"
    assert note.title.startswith("Call back Петров Пётр (missed call), by ")
    assert note.url == reverse("contact_detail", args=[client_of.pk])


def test_a_first_message_from_a_stranger_is_one_new_lead(manager, other_manager, office):
    ingest_event(
        InboundEvent(
            provider="email:1",
            external_id="<new@mail.ru>",
            kind="email",
            channel="email",
            occurred_at=timezone.now(),
            identity_kind="email",
            identity_value="new@mail.ru",
            contact_name="Новиков Иван",
            subject="Хочу станок",
        )
    )
    notes = Notification.objects.all()
    assert [(n.kind, n.title) for n in notes] == [("lead", "New lead: Новиков Иван (E-mail)")]
    assert notes[0].user in (manager, other_manager)
    assert notes[0].url.startswith("/leads/")


def test_tasks_given_to_someone_else_are_announced(head, manager, client_of):
    crm_services.task_create(actor=head, title="Подготовить КП", contact=client_of, assignee=manager)
    crm_services.task_create(actor=manager, title="Своя задача", contact=client_of)
    assert _titles(manager) == ["New task: Подготовить КП"]
    assert _titles(head) == []


def test_titles_are_in_the_recipients_language(manager, client_of):
    manager.language = "ru"
    manager.save()
    _email(1)
    assert _titles(manager) == ["E-mail — Петров Пётр: Сроки поставки"]


# --- pages -------------------------------------------------------------------------------------


def test_bell_list_open_and_read_all(client, manager, other_manager, client_of):
    _email(1)
    _email(2, subject="Ещё вопрос")
    client.force_login(manager)
    page = client.get(reverse("contact_list")).content.decode()
    assert 'data-testid="notification-count">2<' in page
    bell = client.get(reverse("notification_bell")).content.decode()
    assert 'data-testid="notification-count">2<' in bell

    listing = client.get(reverse("notification_list")).content.decode()
    assert listing.count('data-testid="notification"') == 2 and "Ещё вопрос" in listing
    first = Notification.objects.filter(user=manager).order_by("id").first()
    assert client.get(reverse("notification_open", args=[first.pk])).status_code == 405  # GET changes nothing
    assert notification_unread_count(user=manager) == 2
    response = client.post(reverse("notification_open", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == first.url
    assert notification_unread_count(user=manager) == 1

    client.force_login(other_manager)  # someone else's notification is not there for them
    assert client.post(reverse("notification_open", args=[first.pk])).status_code == 404
    client.force_login(manager)
    assert client.get(reverse("notifications_read_all")).status_code == 405
    client.post(reverse("notifications_read_all"))
    assert notification_unread_count(user=manager) == 0
    assert 'data-testid="notification-count"' not in client.get(reverse("notification_bell")).content.decode()


def test_a_deal_opened_for_someone_else_is_announced(head, manager, pipeline, office):
    contact = crm_services.contact_create(actor=head, full_name="Сидоров Олег", identities=[])
    deal = crm_services.deal_create(
        actor=head, title="Линия розлива", pipeline=pipeline, contact=contact, responsible=manager, amount="1"
    )
    crm_services.deal_create(
        actor=manager, title="Своя сделка", pipeline=pipeline, contact=contact, amount="1"
    )
    assert _titles(manager) == ["New deal: Линия розлива (Сидоров Олег)"]
    assert Notification.objects.get(user=manager).url == reverse("deal_detail", args=[deal.pk])


def test_a_deal_handed_over_is_announced_each_time(head, manager, other_manager, pipeline, office):
    contact = crm_services.contact_create(actor=head, full_name="Сидоров Олег", identities=[])
    deal = crm_services.deal_create(
        actor=head, title="Линия розлива", pipeline=pipeline, contact=contact, responsible=head, amount="1"
    )
    deal = crm_services.deal_update(actor=head, deal=deal, responsible=manager)
    deal = crm_services.deal_update(actor=head, deal=deal, title="Линия розлива 2")  # not a handover
    deal = crm_services.deal_update(actor=manager, deal=deal, responsible=other_manager)
    deal = crm_services.deal_update(actor=other_manager, deal=deal, responsible=manager)
    assert _titles(manager) == [
        "Deal handed to you: Линия розлива 2 (Сидоров Олег)",
        "Deal handed to you: Линия розлива (Сидоров Олег)",
    ]
    assert _titles(other_manager) == ["Deal handed to you: Линия розлива 2 (Сидоров Олег)"]
    assert _titles(head) == []

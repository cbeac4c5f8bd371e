"""Notifications by e-mail and Telegram as each user chose, in their language, sent once; reminders
before a task is due; linking a Telegram chat with ``/start <code>``; the settings page."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from otdel.automation import delivery
from otdel.automation.models import Notification, NotificationDelivery, NotificationSettings
from otdel.automation.services import notify
from otdel.automation.tests.test_exactly_once import _two_workers
from otdel.comms.models import Interaction
from otdel.comms.tests.telegram.support.fixtures import *  # noqa: F403 (bot_api, telegram_bot, deliver)
from otdel.comms.tests.telegram.support.fixtures import private_update
from otdel.crm import services as crm
from otdel.crm.models import Contact
from otdel.crm.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _choose(user, **channels):
    chosen = delivery.settings_for(user)
    chosen.channels = channels
    chosen.save()
    return chosen


def test_a_new_task_comes_by_email_in_the_recipients_language(
    manager, head, django_capture_on_commit_callbacks
):
    manager.email, manager.language = "manager@otdel.test", "en"
    manager.save()
    _choose(manager, task=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        crm.task_create(actor=head, title="Call Ivanov", contact=ContactFactory(), assignee=manager)
    (message,) = mail.outbox
    assert message.to == ["manager@otdel.test"]
    assert message.subject == "New task: Call Ivanov"
    assert "notification settings" in message.body
    assert NotificationDelivery.objects.get().state == "sent"
    # Delivering again sends nothing more.
    assert delivery.deliveries_drain() == 0 and len(mail.outbox) == 1


def test_kinds_not_chosen_stay_in_the_bell_only(manager, head, django_capture_on_commit_callbacks):
    manager.email = "manager@otdel.test"
    manager.save()
    _choose(manager, lead=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        crm.task_create(actor=head, title="Позвонить", contact=ContactFactory(), assignee=manager)
    assert manager.notifications.count() == 1
    assert mail.outbox == [] and not NotificationDelivery.objects.exists()


def test_telegram_link_and_delivery(
    manager, head, telegram_bot, bot_api, deliver, django_capture_on_commit_callbacks
):
    manager.language = "ru"
    manager.save()
    chosen = delivery.telegram_link_start(user=manager)
    response = deliver(
        telegram_bot, private_update(chat_id=5550001, text=f"/start {chosen.telegram_link_code}")
    )
    assert response.status_code == 200
    chosen.refresh_from_db()
    assert chosen.telegram_chat_id == "5550001" and chosen.telegram_bot == telegram_bot
    assert chosen.telegram_link_code == ""
    # The employee is not taken for a client.
    assert not Interaction.objects.exists() and not Contact.objects.exists()

    _choose(manager, task=["telegram"])
    with django_capture_on_commit_callbacks(execute=True):
        crm.task_create(actor=head, title="Позвонить Иванову", contact=ContactFactory(), assignee=manager)
    (sent,) = bot_api.calls("sendMessage")
    assert sent["chat_id"] == 5550001
    assert sent["text"].startswith("Новая задача: Позвонить Иванову")


def test_a_failed_delivery_is_retried_then_given_up(manager, telegram_bot, bot_api):
    NotificationSettings.objects.create(
        user=manager, channels={"task": ["telegram"]}, telegram_bot=telegram_bot, telegram_chat_id="42"
    )
    bot_api.fail("sendMessage", 500, "Internal Server Error", times=10)
    notify(user=manager, kind="task", key="k", title="t")
    moment = timezone.now()
    for minutes in (0, 1, 6, 36):
        delivery.deliveries_drain(now=moment + datetime.timedelta(minutes=minutes, seconds=1))
    row = NotificationDelivery.objects.get()
    assert row.state == "failed" and row.attempts == 4 and "Internal" in row.error


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_each_notification_once(manager, settings):
    manager.email = "manager@otdel.test"
    manager.save()
    NotificationSettings.objects.create(user=manager, channels={"task": ["email"]})
    for n in range(20):  # rows as notify() leaves them, before any worker ran
        notification = Notification.objects.create(user=manager, kind="task", key=f"k{n}", title=f"t{n}")
        NotificationDelivery.objects.create(
            notification=notification, channel="email", next_attempt_at=timezone.now()
        )
    counts = _two_workers(lambda worker: delivery.deliveries_drain())
    assert sum(counts.values()) == 20
    assert sorted(m.subject for m in mail.outbox) == sorted(f"t{n}" for n in range(20))


def test_reminder_before_a_task_is_due_once(manager):
    manager.language = "ru"
    manager.save()
    NotificationSettings.objects.create(user=manager, remind_before_minutes=30)
    contact = ContactFactory()
    soon = crm.task_create(
        actor=None,
        title="Встреча",
        contact=contact,
        assignee=manager,
        due_at=timezone.now() + datetime.timedelta(minutes=20),
    )
    crm.task_create(
        actor=None,
        title="Потом",
        contact=contact,
        assignee=manager,
        due_at=timezone.now() + datetime.timedelta(hours=3),
    )
    assert delivery.tasks_remind() == 1
    assert delivery.tasks_remind() == 0
    (reminder,) = manager.notifications.filter(kind=Notification.Kind.REMINDER)
    assert reminder.title.startswith("Напоминание: Встреча в ")
    # Moved to a later time: reminded again when that comes.
    soon.due_at = timezone.now() + datetime.timedelta(minutes=25)
    soon.save()
    assert delivery.tasks_remind() == 1


def test_settings_page_saves_the_choice(client, manager):
    client.force_login(manager)
    page = client.get("/notifications/settings/")
    assert page.status_code == 200 and 'data-testid="channel-task-email"' in page.content.decode()
    response = client.post(
        "/notifications/settings/",
        {"task:email": "on", "sla:telegram": "on", "bogus:email": "on", "remind_before_minutes": "10"},
    )
    assert response.status_code == 302
    chosen = NotificationSettings.objects.get(user=manager)
    assert chosen.channels == {"task": ["email"], "sla": ["telegram"]}
    assert chosen.remind_before_minutes == 10
    client.post("/notifications/settings/", {"remind_before_minutes": "-5"})
    chosen.refresh_from_db()
    assert chosen.remind_before_minutes == 10

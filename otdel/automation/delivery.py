"""Notifications beyond the bell: by e-mail and by Telegram, as each user chose per kind, in the
user's language; reminders before a task is due; linking a user's Telegram chat to a company bot.

A notification's deliveries are rows made in the notification's own transaction (one per channel);
the worker claims each with ``FOR UPDATE SKIP LOCKED`` and sends it once, retrying a failure after
1, 5 and 30 minutes.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from otdel.automation.models import Notification, NotificationDelivery, NotificationSettings

logger = logging.getLogger(__name__)
RETRY_MINUTES = (1, 5, 30)
DEFAULT_REMIND_MINUTES = 15


def settings_for(user: Any) -> NotificationSettings:
    found, _created = NotificationSettings.objects.get_or_create(user=user)
    return found


def deliveries_plan(notification: Notification) -> int:
    """Make the delivery rows the user asked for (called in the notification's transaction)."""
    chosen = NotificationSettings.objects.filter(user_id=notification.user_id).first()
    if chosen is None:
        return 0
    made = 0
    for channel in chosen.channels_for(notification.kind):
        if channel == NotificationSettings.Channel.EMAIL and not notification.user.email:
            continue
        if channel == NotificationSettings.Channel.TELEGRAM and not chosen.telegram_chat_id:
            continue
        NotificationDelivery.objects.get_or_create(
            notification=notification, channel=channel, defaults={"next_attempt_at": timezone.now()}
        )
        made += 1
    if made:
        from otdel.automation.tasks import notifications_deliver

        transaction.on_commit(notifications_deliver.enqueue)
    return made


def deliveries_drain(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """Send every due delivery once; returns how many were attempted."""
    attempted = 0
    while attempted < limit:
        with transaction.atomic():
            moment = now or timezone.now()
            delivery = (
                NotificationDelivery.objects.select_for_update(skip_locked=True)
                .filter(state=NotificationDelivery.State.PENDING, next_attempt_at__lte=moment)
                .select_related("notification__user")
                .order_by("next_attempt_at", "id")
                .first()
            )
            if delivery is None:
                return attempted
            _send(delivery, moment)
            attempted += 1
    return attempted


def _absolute(url: str) -> str:
    return f"{settings.OTDEL_PUBLIC_URL}{url}" if url.startswith("/") else url


def _send(delivery: NotificationDelivery, moment: datetime.datetime) -> None:
    notification = delivery.notification
    user = notification.user
    delivery.attempts += 1
    try:
        with override(user.language or None):
            text = notification.title
            if notification.url:
                text = f"{text}\n{_absolute(notification.url)}"
            if delivery.channel == NotificationSettings.Channel.EMAIL:
                _email(user, subject=notification.title, body=text + "\n\n" + _footer())
            else:
                _telegram(user, text)
    except Exception as exc:  # any fault of the mail server or Telegram: retried, then given up
        delivery.error = (str(exc) or exc.__class__.__name__)[:500]
        if delivery.attempts > len(RETRY_MINUTES):
            delivery.state, delivery.next_attempt_at = NotificationDelivery.State.FAILED, None
        else:
            delivery.next_attempt_at = moment + datetime.timedelta(
                minutes=RETRY_MINUTES[delivery.attempts - 1]
            )
        logger.warning("notification %s by %s failed: %s", notification.pk, delivery.channel, exc)
    else:
        delivery.state, delivery.sent_at, delivery.error = NotificationDelivery.State.SENT, moment, ""
        delivery.next_attempt_at = None
    delivery.save()


def _footer() -> str:
    return _("You get this because of your notification settings in Otdel.")


def _email(user: Any, *, subject: str, body: str) -> None:
    """Through the company's sending mailbox (comms' SMTP), else Django's configured mail server."""
    from otdel.comms.email.send import smtp_deliver
    from otdel.comms.models import Mailbox

    mailbox = Mailbox.objects.filter(is_active=True).exclude(smtp_host="").order_by("id").first()
    if mailbox is None:
        send_mail(subject, body, None, [user.email])
        return
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr(("Otdel", mailbox.address))
    message["To"] = formataddr((user.get_full_name(), user.email))
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=mailbox.address.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"  # so our own mail sync does not take it for a client
    message.set_content(body, subtype="plain", charset="utf-8")
    smtp_deliver(mailbox=mailbox, message=message, recipients=[user.email])


def _telegram(user: Any, text: str) -> None:
    from otdel.comms.telegram.services import bot_api

    chosen = NotificationSettings.objects.select_related("telegram_bot").get(user=user)
    if chosen.telegram_bot is None or not chosen.telegram_chat_id:
        raise ValueError("no Telegram chat linked")
    bot_api(chosen.telegram_bot).send_message(chat_id=int(chosen.telegram_chat_id), text=text[:4000])


# --- linking a Telegram chat ---------------------------------------------------------------------


def telegram_link_start(*, user: Any) -> NotificationSettings:
    """A fresh code the user sends to a company bot (``/start <code>``) to link their chat."""
    chosen = settings_for(user)
    chosen.telegram_link_code = secrets.token_hex(8)
    chosen.save(update_fields=["telegram_link_code", "updated_at"])
    return chosen


def telegram_link_claim(*, bot: Any, chat_id: int | str, text: str) -> bool:
    """``/start <code>`` from an employee's chat: link it (the message is not a client's). True if it was."""
    parts = text.strip().split()
    if len(parts) != 2 or parts[0] != "/start" or len(parts[1]) != 16:
        return False
    updated = NotificationSettings.objects.filter(telegram_link_code=parts[1]).update(
        telegram_bot=bot, telegram_chat_id=str(chat_id), telegram_link_code="", updated_at=timezone.now()
    )
    # The update is parsed again later (intake): a linked employee's "/start" stays theirs.
    return (
        bool(updated)
        or NotificationSettings.objects.filter(telegram_bot=bot, telegram_chat_id=str(chat_id)).exists()
    )


def telegram_unlink(*, user: Any) -> None:
    NotificationSettings.objects.filter(user=user).update(
        telegram_bot=None, telegram_chat_id="", telegram_link_code="", updated_at=timezone.now()
    )


# --- reminders -------------------------------------------------------------------------------


def tasks_remind(*, now: datetime.datetime | None = None, horizon_minutes: int = 24 * 60) -> int:
    """Remind each assignee of their open tasks due within their chosen lead time, once per due time."""
    from otdel.crm.models import Task

    now = now or timezone.now()
    lead_times = dict(NotificationSettings.objects.values_list("user_id", "remind_before_minutes"))
    reminded = 0
    tasks = Task.objects.filter(
        done_at__isnull=True,
        assignee__isnull=False,
        assignee__is_active=True,
        due_at__gt=now,
        due_at__lte=now + datetime.timedelta(minutes=horizon_minutes),
    ).select_related("assignee", "contact")
    for task in tasks:
        before = lead_times.get(task.assignee_id or 0, DEFAULT_REMIND_MINUTES)
        if not before or task.due_at - datetime.timedelta(minutes=before) > now:  # type: ignore[operator]
            continue
        with override(task.assignee.language or None):  # type: ignore[union-attr]
            due = formats.date_format(timezone.localtime(task.due_at), "TIME_FORMAT")
            title = _("Reminder: %(task)s at %(time)s") % {"task": task.title, "time": due}
        reminded += _notify_once(
            user=task.assignee,
            kind=Notification.Kind.REMINDER,
            key=f"task-reminder:{task.pk}:{task.due_at.isoformat()}",  # type: ignore[union-attr]
            title=title,
            url=_task_url(task),
            contact=task.contact,
        )
    return reminded


def _notify_once(**fields: Any) -> int:
    from otdel.automation.services import notify

    exists = Notification.objects.filter(user=fields["user"], key=fields["key"]).exists()
    return 0 if exists or notify(**fields) is None else 1


def _task_url(task: Any) -> str:
    from django.urls import reverse

    if task.deal_id:
        return reverse("deal_detail", args=[task.deal_id])
    if task.lead_id:
        return reverse("lead_detail", args=[task.lead_id])
    return reverse("contact_detail", args=[task.contact_id]) if task.contact_id else ""

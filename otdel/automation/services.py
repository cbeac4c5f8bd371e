"""Writes of notifications."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from otdel.automation.models import Notification
from otdel.automation.selectors import notification_list


def notify(
    *, user: Any, kind: str, key: str, title: str, url: str = "", contact: Any = None
) -> Notification | None:
    """Tell ``user`` about something, once per ``key``; None when nobody is to be told.

    An inactive user gets nothing. Delivering the same event again (a retried webhook, a worker
    that ran a task twice) changes nothing.
    """
    if user is None or not user.is_active:
        return None
    try:
        with transaction.atomic():
            notification, _created = Notification.objects.get_or_create(
                user=user,
                key=key,
                defaults={"kind": kind, "title": title[:255], "url": url[:500], "contact": contact},
            )
    except IntegrityError:  # the same event, delivered twice at the same moment
        notification = Notification.objects.get(user=user, key=key)
    return notification


def notification_open(*, user: Any, pk: int) -> Notification:
    """Mark one of the user's notifications read (raises DoesNotExist for anyone else's)."""
    notification = notification_list(user=user).get(pk=pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def notifications_read_all(*, user: Any) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).update(read_at=timezone.now())

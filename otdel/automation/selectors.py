"""Reads of notifications: each user sees only their own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from otdel.automation.models import Notification
from otdel.routing.nontarget import about_non_target


def notification_list(*, user: Any) -> QuerySet[Notification]:
    """The user's notifications, newest first.

    Non-target traffic never reaches a salesperson: those about a contact marked non-target (or
    merged into one) since are left out for everyone but the office manager, call center and
    administrators, and come back if the contact is restored as target.
    """
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(user=user)
    if not (user.is_admin or user.is_triage):
        qs = qs.exclude(about_non_target())
    return qs


def notification_unread_count(*, user: Any) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).count()

"""Reads of mailbox settings and sync status (administrators only, through the permission scope)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from otdel.comms.models import Mailbox
from otdel.core.scoping import get_scoped_or_404, scope


def mailbox_list(*, user: Any) -> QuerySet[Mailbox]:
    return scope(Mailbox.objects.select_related("queue").prefetch_related("cursors"), user).order_by(
        "address"
    )


def mailbox_get(*, user: Any, pk: int) -> Mailbox:
    return get_scoped_or_404(Mailbox.objects.select_related("queue").prefetch_related("cursors"), user, pk=pk)


def mailbox_status(mailbox: Mailbox) -> str:
    """ "never" (not synced yet), "ok", or "error" (the latest poll, or part of it, failed)."""
    if mailbox.last_error_at and (
        mailbox.last_sync_at is None or mailbox.last_error_at >= mailbox.last_sync_at
    ):
        return "error"
    return "ok" if mailbox.last_sync_at else "never"

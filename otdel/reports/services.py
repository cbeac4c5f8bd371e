"""Writes of the reports app: monthly plans, report subscriptions, sending the scheduled summary."""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.core.exceptions import field_error
from otdel.reports.models import ManagerPlan, ReportSubscription

logger = logging.getLogger(__name__)


def _can_plan(actor: Any) -> bool:
    return bool(actor.is_admin or actor.is_head_of_sales)


@transaction.atomic
def plan_set(*, actor: Any, user: Any, month: datetime.date, amount: Any, deals: int = 0) -> ManagerPlan:
    """Enter (or change) one salesperson's revenue plan for a month; the head of sales does it."""
    from django.core.exceptions import PermissionDenied

    from otdel.reports.selectors import report_people

    if not _can_plan(actor) or not report_people(actor).filter(pk=user.pk).exists():
        raise PermissionDenied(_("Only the head of sales enters plans for their department."))
    try:
        value = Decimal(str(amount).replace(" ", "").replace(",", ".") or "0")
    except InvalidOperation as exc:
        raise field_error("amount", _("Enter an amount."), "invalid_amount") from exc
    if value < 0 or not value.is_finite():
        raise field_error("amount", _("The plan cannot be negative."), "invalid_amount")
    plan, _created = ManagerPlan.objects.update_or_create(
        user=user,
        month=month.replace(day=1),
        defaults={
            "amount": value.quantize(Decimal("0.01")),
            "deals": max(0, int(deals or 0)),
            "updated_by": actor,
        },
    )
    return plan


@transaction.atomic
def subscription_set(*, actor: Any, frequency: str, active: bool) -> ReportSubscription | None:
    """Turn the weekly or monthly summary by e-mail on or off for ``actor``."""
    if frequency not in ReportSubscription.Frequency.values:
        raise field_error("frequency", _("Choose weekly or monthly."), "invalid_frequency")
    if not active:
        ReportSubscription.objects.filter(user=actor, frequency=frequency).update(is_active=False)
        return None
    sub, _created = ReportSubscription.objects.update_or_create(
        user=actor, frequency=frequency, defaults={"is_active": True}
    )
    return sub


def last_complete_period(frequency: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last whole week (Monday to Sunday) or calendar month before ``today``."""
    if frequency == ReportSubscription.Frequency.WEEKLY:
        end = today - datetime.timedelta(days=today.weekday() + 1)
        return end - datetime.timedelta(days=6), end
    end = today.replace(day=1) - datetime.timedelta(days=1)
    return end.replace(day=1), end


def subscriptions_send_due(now: datetime.datetime | None = None) -> int:
    """E-mail each active subscription's last complete period once; returns how many were sent."""
    from otdel.reports.pdf import summary_send
    from otdel.reports.selectors import can_see_reports

    today = timezone.localdate(now or timezone.now(), timezone.get_default_timezone())
    sent = 0
    subs = ReportSubscription.objects.filter(is_active=True, user__is_active=True).exclude(user__email="")
    for sub in subs.select_related("user"):
        if not can_see_reports(sub.user):  # the role changed since they subscribed
            continue
        start, end = last_complete_period(sub.frequency, today)
        if sub.last_period_end is not None and sub.last_period_end >= end:
            continue
        # Claim the period first (a second scheduler or worker finds it taken), then send.
        claimed = (
            ReportSubscription.objects.filter(pk=sub.pk)
            .exclude(last_period_end__gte=end)
            .update(last_period_end=end, last_sent_at=timezone.now())
        )
        if not claimed:
            continue
        try:
            summary_send(user=sub.user, date_from=start, date_to=end)
            sent += 1
        except Exception:
            logger.exception("scheduled report %s could not be sent", sub.pk)
            ReportSubscription.objects.filter(pk=sub.pk).update(last_period_end=sub.last_period_end)
    return sent

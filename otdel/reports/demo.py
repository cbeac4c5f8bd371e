"""Demo data of the reports section, on top of the core demo (``manage.py load_demo``).

The core demo back-dates its change log after the fact (bulk updates, no signals), so the stage
history is derived again from the log; then monthly plans for the salespeople (the previous two
months, this one and the next) and the weekly summary for the head of sales. Deterministic and
idempotent: running it twice gives the same rows.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from otdel.accounts.models import User
from otdel.reports.history import history_rebuild
from otdel.reports.models import ManagerPlan, ReportSubscription

PLANS = {
    "ivanov": Decimal("3000000"),
    "kuznetsova": Decimal("2500000"),
    "sokolov": Decimal("2000000"),
    "popova": Decimal("2500000"),
    "lebedev": Decimal("4000000"),
}


def _month(first: datetime.date, shift: int) -> datetime.date:
    year, month = divmod(first.month - 1 + shift, 12)
    return datetime.date(first.year + year, month + 1, 1)


def seed_demo() -> None:
    history_rebuild()
    this_month = timezone.localdate(timezone.now(), timezone.get_default_timezone()).replace(day=1)
    head = User.objects.filter(username="orlova").first()
    for username, amount in PLANS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        for shift in (-2, -1, 0, 1):
            ManagerPlan.objects.update_or_create(
                user=user, month=_month(this_month, shift), defaults={"amount": amount, "updated_by": head}
            )
    if head is not None:
        ReportSubscription.objects.get_or_create(
            user=head, frequency=ReportSubscription.Frequency.WEEKLY, defaults={"is_active": True}
        )

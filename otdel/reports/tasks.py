"""Background work of reports: the scheduled summary e-mailed as a PDF."""

from __future__ import annotations

from django_tasks import task

from otdel.core.scheduler import register_periodic


@task()
def scheduled_reports_send() -> int:
    """Send every weekly/monthly summary whose period has ended and was not sent yet."""
    from otdel.reports.services import subscriptions_send_due

    return subscriptions_send_due()


register_periodic("reports.scheduled_send", 60 * 60, scheduled_reports_send)

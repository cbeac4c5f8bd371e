"""Report data that the CRM does not keep by itself: the stage history as rows, monthly plans, and
who gets the scheduled report by e-mail."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StageVisit(models.Model):
    """One stay of a deal in a stage: a projection of the change log (every ``stage_id`` change of a
    deal), kept current by a receiver on ObjectChange and rebuilt by ``manage.py reports_rebuild``.

    ``first`` marks the deal's first visit to that stage, so "deals that reached a stage" is a plain
    count; ``seconds`` is filled when the deal leaves the stage (time in stage).
    """

    deal = models.ForeignKey("crm.Deal", on_delete=models.CASCADE, related_name="stage_visits")
    pipeline = models.ForeignKey("crm.Pipeline", on_delete=models.CASCADE, related_name="+")
    # A stage deleted later (its deals moved elsewhere first) leaves its stays in the history.
    stage = models.ForeignKey("crm.Stage", null=True, on_delete=models.SET_NULL, related_name="visits")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    seconds = models.PositiveBigIntegerField(null=True, blank=True)
    first = models.BooleanField(default=True)
    # The change-log row that opened this visit (idempotent rebuild and replays).
    change_id = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ["deal", "entered_at", "id"]
        verbose_name = _("stage visit")
        verbose_name_plural = _("stage history")
        indexes = [
            # Funnel: reached per stage for a cohort of deals (joins on deal, groups by stage).
            models.Index(fields=["deal", "stage"], name="reports_visit_deal_stage"),
            # Time in stage: finished visits per stage.
            models.Index(fields=["stage", "seconds"], name="reports_visit_stage_seconds"),
            # The open visit of a deal (closed when it moves on).
            models.Index(fields=["deal"], condition=Q(left_at__isnull=True), name="reports_visit_open"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id} @ {self.stage_id} {self.entered_at:%Y-%m-%d %H:%M}"


class ManagerPlan(models.Model):
    """The revenue plan of one salesperson for one month, entered by the head of sales."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.DecimalField(
        _("revenue plan"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    deals = models.PositiveIntegerField(_("deals plan"), default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["month", "user"]
        verbose_name = _("monthly plan")
        verbose_name_plural = _("monthly plans")
        constraints = [
            models.UniqueConstraint(fields=["user", "month"], name="reports_plan_user_month_unique"),
            models.CheckConstraint(condition=Q(month__day=1), name="reports_plan_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.month:%m.%Y}"


class ReportSubscription(models.Model):
    """A person who gets the summary report as a PDF by e-mail, weekly or monthly."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # The last day of the last period sent: a period is sent once, whatever the scheduler does.
    last_period_end = models.DateField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "frequency"]
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["user", "frequency"], name="reports_subscription_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_frequency_display()}"

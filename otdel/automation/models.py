"""What runs by itself after something happens. So far: notifications to the people concerned."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otdel.core.models import TimeStampedModel


class Notification(TimeStampedModel):
    """Something a user should look at: a lead or message that came to them, a call to return."""

    class Kind(models.TextChoices):
        LEAD = "lead", _("New lead")
        DEAL = "deal", _("New deal")
        INBOUND = "inbound", _("New message")
        MISSED_CALL = "missed_call", _("Missed call")
        TASK = "task", _("New task")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=255)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # The person it is about: a notification about someone marked non-target is no longer shown to
    # sales (see selectors.notification_list).
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # What it is about, e.g. "interaction:42": the same thing never notifies the same user twice.
    key = models.CharField(_("key"), max_length=100)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="automation_notification_once")]
        indexes = [models.Index(fields=["user", "read_at"], name="automation_notification_unread")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.title

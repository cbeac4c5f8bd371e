"""Interactions on the client timeline, their attachments, and the raw intake log of every webhook."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from otdel.core.models import TimeStampedModel


class Direction(models.TextChoices):
    IN = "in", _("Inbound")
    OUT = "out", _("Outbound")


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    MESSAGE = "message", _("Message")
    FORM = "form", _("Form submission")
    NOTE = "note", _("Note")
    MEETING = "meeting", _("Meeting")
    TASK = "task", _("Task")


class CallState(models.IntegerChoices):
    """Ordered: a call only moves forward (a late "ringing" never undoes "ended")."""

    NONE = 0, "—"
    RINGING = 1, _("Ringing")
    ANSWERED = 2, _("Answered")
    ENDED = 3, _("Ended")


class CallStatus(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    MISSED = "missed", _("Missed")
    BUSY = "busy", _("Busy")
    FAILED = "failed", _("Failed")


class Interaction(TimeStampedModel):
    kind = models.CharField(_("kind"), max_length=16, choices=InteractionKind.choices)
    channel = models.CharField(_("channel"), max_length=16)  # crm.Channel values
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.IN)
    # Idempotency: the same provider event id is the same row, however often it is delivered.
    provider = models.CharField(_("provider"), max_length=64, blank=True)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)

    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    identity = models.ForeignKey(
        "crm.Identity", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions")
    lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions")
    # Our side: the employee who took or made it (extension owner, sender).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body = models.TextField(_("text"), blank=True)
    summary = models.CharField(_("summary"), max_length=500, blank=True)

    # Calls
    call_state = models.PositiveSmallIntegerField(choices=CallState.choices, default=CallState.NONE)
    status = models.CharField(_("status"), max_length=16, choices=CallStatus.choices, blank=True)
    caller = models.CharField(_("caller"), max_length=64, blank=True)
    called = models.CharField(_("called"), max_length=64, blank=True)
    extension = models.CharField(_("extension"), max_length=16, blank=True)
    duration = models.PositiveIntegerField(_("duration, s"), null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recording_url = models.URLField(_("recording URL"), max_length=1000, blank=True)
    recording_file = models.FileField(_("recording"), upload_to="recordings/%Y/%m/", blank=True)

    # E-mail threading (Message-ID of this one and the thread root).
    message_id = models.CharField(max_length=500, blank=True, db_index=True)
    thread_key = models.CharField(max_length=500, blank=True, db_index=True)

    payload = models.JSONField(_("raw payload"), default=dict, blank=True)

    # Where routing sent it, and who dealt with it (for the inbox of unanswered interactions).
    routed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    routed_queue = models.CharField(max_length=64, blank=True)
    routing_decision = models.ForeignKey(
        "routing.RoutingDecision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~Q(external_id=""),
                name="comms_interaction_provider_external_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"]),
            models.Index(fields=["routed_to", "handled_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class Attachment(TimeStampedModel):
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class IntakeLog(TimeStampedModel):
    """Every webhook/provider delivery as received, so nothing is lost and bad input can be inspected."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    provider = models.CharField(_("provider"), max_length=64, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(_("error"), blank=True)
    body = models.TextField(_("raw body"), blank=True)
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    interaction = models.ForeignKey(Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("intake log entry")
        verbose_name_plural = _("intake log")

    def __str__(self) -> str:
        return f"{self.provider} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"

"""Queues of people who take inbound traffic, routing settings, and the log of every decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel


class Queue(ChangeLoggedModel):
    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_BUSY = "least_busy", _("Least busy")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    strategy = models.CharField(
        _("distribution"), max_length=16, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    members: models.ManyToManyField = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="QueueMember", related_name="queues", verbose_name=_("members")
    )
    is_active = models.BooleanField(_("active"), default=True)
    off_hours = models.CharField(
        _("when nobody works"),
        max_length=16,
        choices=[
            ("duty", _("Send to the duty person")),
            ("next_morning", _("Assign for the next working morning")),
            ("voicemail", _("Send calls to voicemail")),
        ],
        default="next_morning",
    )
    duty_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("duty person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    voicemail = models.CharField(_("voicemail destination"), max_length=64, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")

    def __str__(self) -> str:
        return self.name


class QueueMember(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Round robin picks the available member who got traffic longest ago: fair across restarts.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="routing_queue_member_unique")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.queue_id}:{self.user_id}"


class RoutingSettings(ChangeLoggedModel):
    """One row: where non-target traffic goes, the default queue and the last-resort person."""

    class RepeatRule(models.TextChoices):
        ATTACH = "attach", _("Attach to the open deal or lead")
        REOPEN = "reopen", _("Reopen the last lead")
        NEW_LEAD = "new_lead", _("Always create a new lead")

    non_target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("non-target traffic goes to (person)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    non_target_queue = models.ForeignKey(
        Queue,
        verbose_name=_("non-target traffic goes to (queue)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    default_queue = models.ForeignKey(
        Queue,
        verbose_name=_("default queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    fallback_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fallback person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    repeat_rule = models.CharField(
        _("repeat inquiry from a known client"),
        max_length=16,
        choices=RepeatRule.choices,
        default=RepeatRule.ATTACH,
    )
    callback_minutes = models.PositiveIntegerField(_("call back a missed call within, minutes"), default=30)

    class Meta:
        verbose_name = _("routing settings")
        verbose_name_plural = _("routing settings")

    def __str__(self) -> str:
        return str(_("Routing settings"))

    @classmethod
    def load(cls) -> RoutingSettings:
        obj = cls.objects.order_by("pk").first()
        return obj if obj is not None else cls.objects.create()


class RoutingDecision(TimeStampedModel):
    """Why a contact went where it went: the answer to "why did this call go to Petrov?"."""

    class Reason(models.TextChoices):
        NON_TARGET = "non_target", _("Non-target contact")
        OPEN_DEAL = "open_deal", _("Owner of the open deal")
        CONTACT_OWNER = "contact_owner", _("Contact's responsible")
        QUEUE = "queue", _("Distribution queue")
        FALLBACK = "fallback", _("Fallback")

    channel = models.CharField(_("channel"), max_length=16)
    input = models.JSONField(_("input"), default=dict)
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    rule = models.CharField(_("rule"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    live = models.BooleanField(_("live PBX request"), default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("routing decision")
        verbose_name_plural = _("routing decisions")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} → {self.user or self.queue or '—'}"


class BlockedIdentity(TimeStampedModel):
    """A phone, address or chat marked non-target on its own (a spam number with no contact)."""

    kind = models.CharField(_("kind"), max_length=16)
    value = models.CharField(_("value"), max_length=255)
    reason = models.CharField(_("reason"), max_length=32)
    comment = models.CharField(_("comment"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("blocked identity")
        verbose_name_plural = _("blocked identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="routing_blocked_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

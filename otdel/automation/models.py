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
        AUTOMATION = "automation", _("Automation rule")
        SLA = "sla", _("Service level")
        REMINDER = "reminder", _("Task reminder")
        APPROVAL = "approval", _("Approval")

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


class Rule(TimeStampedModel):
    """ "When <event> (and <conditions>), after <delay>, do <actions>": a robot the head of sales sets up.

    ``trigger`` is ``{"event": "<catalog name>", ...filters}`` (``stage`` for ``deal.stage_entered``);
    ``conditions`` a list of ``{"field", "op", "value"}`` joined by AND, or ``{"any": [...]}`` for OR;
    ``actions`` a list of ``{"action": ...}`` (see ``otdel/automation/actions.py``).
    """

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    event = models.CharField(_("event"), max_length=64, db_index=True)
    trigger = models.JSONField(_("trigger"), default=dict)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    delay_minutes = models.PositiveIntegerField(_("delay, minutes"), default=0)
    working_time = models.BooleanField(_("on working time"), default=False)
    actions = models.JSONField(_("actions"), default=list)
    # The pipeline a stage trigger belongs to (the rule editor shows it in that stage's column).
    pipeline = models.ForeignKey(
        "crm.Pipeline",
        verbose_name=_("pipeline"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    stage = models.ForeignKey(
        "crm.Stage",
        verbose_name=_("stage"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    paused_reason = models.CharField(_("paused because"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")

    def __str__(self) -> str:
        return self.name


class RuleRun(TimeStampedModel):
    """One (rule, subject, occurrence): made when the event is matched, run once when due.

    The unique constraint makes a second match of the same occurrence a no-op; a worker claims a
    due row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and runs its actions in the same transaction,
    so two workers never run it twice and a worker that dies leaves it pending for the next one.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="runs")
    subject_type = models.CharField(_("subject type"), max_length=32)
    subject_id = models.BigIntegerField(_("subject id"), null=True)
    occurrence = models.CharField(_("occurrence"), max_length=100)
    event = models.CharField(_("event"), max_length=64)
    payload = models.JSONField(_("event data"), default=dict)
    due_at = models.DateTimeField(_("due"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Who ran it, to tell in a test or an incident which worker did.
    worker = models.CharField(_("worker"), max_length=100, blank=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id", "occurrence"], name="automation_run_once"
            )
        ]
        indexes = [models.Index(fields=["outcome", "due_at"], name="automation_run_due")]

    def __str__(self) -> str:
        return f"{self.rule} / {self.subject_type}:{self.subject_id}"


class SlaPolicy(TimeStampedModel):
    """A service level: how long a first response, a stage or a task may take, and what happens
    when the time is nearly out (``on_warn``) and out (``on_breach``): rule actions."""

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("first response")
        STAGE_TIME = "stage_time", _("time in stage")
        TASK_DONE = "task_done", _("task done")
        APPROVAL_STEP = "approval_step", _("approval step")
        DEPARTMENT_REQUEST = "department_request", _("department request")

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    target = models.CharField(_("target"), max_length=20, choices=Target.choices)
    applies_to = models.JSONField(_("applies to"), default=dict, blank=True)
    minutes = models.PositiveIntegerField(_("minutes"))
    working_time = models.BooleanField(_("on working time"), default=True)
    warn_at_percent = models.PositiveSmallIntegerField(_("warn at, %"), default=80)
    on_warn = models.JSONField(_("on warning"), default=list, blank=True)
    on_breach = models.JSONField(_("on breach"), default=list, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class SlaTimer(TimeStampedModel):
    """One clock of one policy on one lead or deal. ``check_at`` is when a worker must look at it
    next (the warning, then the deadline); a worker claims it with ``FOR UPDATE SKIP LOCKED``, so
    each warning and each breach fires exactly once."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        WARNED = "warned", _("warned")
        MET = "met", _("met")
        BREACHED = "breached", _("breached")

    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="timers"
    )
    lead = models.ForeignKey(
        "crm.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    deal = models.ForeignKey(
        "crm.Deal", verbose_name=_("deal"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(
        "crm.Task", verbose_name=_("task"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Who must act, when it is not the responsible of the record: an approval step waits on its
    # approver, a department request on its assignee (the app that starts such a clock names them).
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who must act"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the clock is for, e.g. "lead:12" or "deal:7:stage:3:2026-12-02T10:00": started once.
    key = models.CharField(_("key"), max_length=120)
    started_at = models.DateTimeField(_("started"))
    warn_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RUNNING)
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    check_at = models.DateTimeField(_("check at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        constraints = [models.UniqueConstraint(fields=["policy", "key"], name="automation_sla_timer_once")]
        indexes = [
            models.Index(fields=["check_at"], name="automation_sla_timer_check"),
            models.Index(fields=["key"], name="automation_sla_timer_key"),  # stopped by its key
        ]

    def __str__(self) -> str:
        return f"{self.policy} / {self.key}"


class TaskOverdueMark(models.Model):
    """A task whose ``task.overdue`` event was emitted: one row per task, so it is emitted once."""

    task = models.OneToOneField(
        "crm.Task", verbose_name=_("task"), on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("overdue task")
        verbose_name_plural = _("overdue tasks")

    def __str__(self) -> str:
        return str(self.task_id)


class WebhookDelivery(TimeStampedModel):
    """One webhook call of a rule run or an SLA clock, delivered by the worker with retries.

    Made in the run's transaction (one per action key), so a run that rolls back leaves none; a
    worker claims a due delivery with ``FOR UPDATE SKIP LOCKED``, so two workers never send it at
    once. A failed attempt waits 1, 5, 30, 120, 720 minutes (``OTDEL_WEBHOOK_RETRY_MINUTES``)
    before the next; after the last one the delivery (and its run) is failed.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    key = models.CharField(_("key"), max_length=120, unique=True)
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(
        RuleRun,
        verbose_name=_("rule run"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    url = models.CharField(_("URL"), max_length=2000)
    secret = models.CharField(_("secret"), max_length=200)
    body = models.TextField(_("body"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="automation_webhook_due")]

    def __str__(self) -> str:
        return self.key


class NotificationSettings(TimeStampedModel):
    """How one user wants to be told: per kind of notification, by e-mail and / or Telegram (the bell
    always); reminders before a task is due; the Telegram chat linked to a bot of the company."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        TELEGRAM = "telegram", _("Telegram")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_settings",
    )
    # {"<Notification.Kind>": ["email", "telegram"]}; a kind not named is delivered by the bell only.
    channels = models.JSONField(_("channels"), default=dict, blank=True)
    remind_before_minutes = models.PositiveIntegerField(_("remind before a task is due, minutes"), default=15)
    telegram_bot = models.ForeignKey(
        "comms.TelegramBot",
        verbose_name=_("Telegram bot"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    telegram_chat_id = models.CharField(_("Telegram chat"), max_length=32, blank=True)
    # The code the user sends to the bot ("/start <code>") to link their chat; cleared once used.
    telegram_link_code = models.CharField(_("Telegram link code"), max_length=32, blank=True, db_index=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.user)

    def channels_for(self, kind: str) -> list[str]:
        wanted = self.channels.get(kind) if isinstance(self.channels, dict) else None
        return [c for c in (wanted or []) if c in self.Channel.values]


class NotificationDelivery(TimeStampedModel):
    """A notification sent by e-mail or Telegram: one row per (notification, channel), claimed by one
    worker (``FOR UPDATE SKIP LOCKED``), so it is sent once."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=NotificationSettings.Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="automation_delivery_once")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="automation_delivery_due")]

    def __str__(self) -> str:
        return f"{self.notification_id}:{self.channel}"


class EventOutbox(models.Model):
    """A domain event some rule or SLA policy listens to, written in the transaction that caused it
    (one plain INSERT in the request); the worker claims each row once (``FOR UPDATE SKIP LOCKED``),
    matches it to rules and clocks, and deletes it in the same transaction."""

    event = models.CharField(_("event"), max_length=64)
    payload = models.JSONField(_("event data"), default=dict)
    subject_type = models.CharField(_("subject type"), max_length=32)
    subject_id = models.BigIntegerField(_("subject id"), null=True)
    occurrence = models.CharField(_("occurrence"), max_length=100)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("queued event")
        verbose_name_plural = _("queued events")

    def __str__(self) -> str:
        return f"{self.event} {self.subject_type}:{self.subject_id}"

"""Interactions on the client timeline, their attachments, and the raw intake log of every webhook."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel


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
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, default=Direction.IN
    )
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
    deal = models.ForeignKey(
        "crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    lead = models.ForeignKey(
        "crm.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
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

    # Indexed as the first column of (provider, remote_addr, created_at).
    provider = models.CharField(_("provider"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(_("error"), blank=True)
    body = models.TextField(_("raw body"), blank=True)
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["provider", "remote_addr", "created_at"]),
            # The work queue: drains take the oldest "received" row (see comms.intake).
            models.Index(fields=["status", "id"], name="comms_intake_status_id"),
        ]
        verbose_name = _("intake log entry")
        verbose_name_plural = _("intake log")

    def __str__(self) -> str:
        return f"{self.provider} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"


# --- channel settings ------------------------------------------------------------------------


class TelephonyProvider(ChangeLoggedModel):
    """A PBX or cloud telephony account whose events land in Otdel."""

    class Kind(models.TextChoices):
        GENERIC = "generic", _("Generic webhook")
        ZADARMA = "zadarma", "Zadarma"
        MANGO = "mango", "Mango Office"
        ASTERISK = "asterisk", "Asterisk (AMI)"

    changelog_exclude = (
        *ChangeLoggedModel.changelog_exclude,
        "api_secret",
        "ami_password",
        "last_event_at",
        "last_error",
    )

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    key = models.SlugField(_("URL key"), max_length=64, unique=True, help_text=_("Part of the webhook URL."))
    is_active = models.BooleanField(_("active"), default=True)
    live_routing = models.BooleanField(
        _("route ringing calls"),
        default=True,
        help_text=_(
            "Zadarma and Mango Office: send a ringing call to the person Otdel's routing names (the "
            "office manager for a non-target caller, the owner of an open deal, ...). Off: the PBX's "
            "own scenario decides; calls are still recorded on the timeline."
        ),
    )
    # Zadarma: API key/secret (signature = base64(hmac-sha1)); Mango: vpbx_api_key / salt (sha256 sign).
    api_key = models.CharField(_("API key"), max_length=255, blank=True)
    api_secret = models.CharField(_("API secret"), max_length=255, blank=True)
    api_url = models.CharField(_("API base URL"), max_length=255, blank=True)
    # Asterisk Manager Interface.
    ami_host = models.CharField(_("AMI host"), max_length=255, blank=True)
    ami_port = models.PositiveIntegerField(_("AMI port"), default=5038)
    ami_username = models.CharField(_("AMI user"), max_length=120, blank=True)
    ami_password = models.CharField(_("AMI password"), max_length=255, blank=True)
    originate_context = models.CharField(_("dialplan context for click-to-call"), max_length=80, blank=True)
    queue = models.ForeignKey(
        "routing.Queue",
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("telephony provider")
        verbose_name_plural = _("telephony providers")

    def __str__(self) -> str:
        return self.name


class TelephonyLine(TimeStampedModel):
    """A phone number (DID) clients call; calls to it go to its queue."""

    provider = models.ForeignKey(TelephonyProvider, on_delete=models.CASCADE, related_name="lines")
    number = models.CharField(_("number (E.164)"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    queue = models.ForeignKey(
        "routing.Queue",
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("phone line")
        verbose_name_plural = _("phone lines")

    def __str__(self) -> str:
        return self.name or self.number


class Mailbox(ChangeLoggedModel):
    changelog_exclude = (*ChangeLoggedModel.changelog_exclude, "password")

    address = models.EmailField(_("address"), unique=True)
    imap_host = models.CharField(_("IMAP host"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("IMAP over SSL"), default=True)
    username = models.CharField(_("user name"), max_length=255)
    password = models.CharField(_("password"), max_length=255)
    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=465)
    smtp_ssl = models.BooleanField(_("SMTP over SSL"), default=True)
    smtp_starttls = models.BooleanField(_("SMTP STARTTLS"), default=False)
    inbox_folder = models.CharField(_("inbox folder"), max_length=120, default="INBOX")
    sent_folder = models.CharField(_("sent folder"), max_length=120, default="Sent", blank=True)
    queue = models.ForeignKey(
        "routing.Queue",
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["address"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.address


class MailFolderCursor(models.Model):
    """How far a mailbox folder has been read: UIDVALIDITY and the last UID seen."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="cursors")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "folder"], name="comms_mail_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.folder}"


class TelegramBot(ChangeLoggedModel):
    changelog_exclude = (*ChangeLoggedModel.changelog_exclude, "token", "secret_token")

    name = models.CharField(_("name"), max_length=120)
    key = models.SlugField(_("URL key"), max_length=64, unique=True)
    token = models.CharField(_("bot token"), max_length=255)
    secret_token = models.CharField(_("webhook secret token"), max_length=256)
    username = models.CharField(_("bot username"), max_length=64, blank=True)
    api_base_url = models.CharField(
        _("Bot API server"), max_length=255, default="https://api.telegram.org", blank=True
    )
    queue = models.ForeignKey(
        "routing.Queue",
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    webhook_set_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Telegram bot")
        verbose_name_plural = _("Telegram bots")

    def __str__(self) -> str:
        return self.name


class WebForm(ChangeLoggedModel):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    queue = models.ForeignKey(
        "routing.Queue",
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consent_purposes = models.ManyToManyField(
        "privacy.ConsentPurpose", blank=True, related_name="forms", verbose_name=_("required consents")
    )
    # Extra fields beyond name/phone/e-mail/message: [{"name", "label", "type", "required"}].
    fields = models.JSONField(_("extra fields"), default=list, blank=True)
    title = models.CharField(_("heading"), max_length=200, blank=True)
    success_message = models.CharField(_("thank-you message"), max_length=500, blank=True)
    allowed_origins = models.TextField(
        _("sites allowed to embed"), blank=True, help_text=_("One origin per line, e.g. https://example.ru")
    )
    rate_limit_per_minute = models.PositiveIntegerField(_("submissions per IP per minute"), default=5)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self) -> str:
        return self.name

"""Consent purposes, the exact text versions people agreed to, and each consent given."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel


class ProcessingUse(models.TextChoices):
    """Kinds of processing a consent purpose can cover; a withdrawn purpose stops these uses.

    Answering the person's own request and running a contract with them need no consent
    (152-FZ art. 6 p. 1 pt. 5): calls, replies and documents for a deal continue after a withdrawal.
    """

    MARKETING_EMAIL = "marketing_email", _("Marketing e-mails and newsletters")
    MARKETING_MESSAGES = "marketing_messages", _("Marketing messages in messengers")
    MARKETING_CALLS = "marketing_calls", _("Marketing calls")
    CALL_RECORDING = "call_recording", _("Recording of calls")
    ANALYTICS = "analytics", _("Analytics of visits and advertising (UTM)")
    THIRD_PARTIES = "third_parties", _("Transfer to third parties")
    INQUIRY = "inquiry", _("Handling the inquiry before a contract")


class LegalBasis(models.TextChoices):
    CONSENT = "consent", _("Consent of the person (art. 6 p. 1 pt. 1)")
    CONTRACT = "contract", _("Contract with the person or steps before it (art. 6 p. 1 pt. 5)")
    LAW = "law", _("Duty under law (art. 6 p. 1 pt. 2)")
    LEGITIMATE = "legitimate", _("Legitimate interests of the operator (art. 6 p. 1 pt. 7)")


class ConsentMethod(models.TextChoices):
    FORM = "form", _("Web form")
    MANUAL = "manual", _("Paper (scan attached)")
    TELEGRAM = "telegram", _("Telegram bot")
    API = "api", _("API")


class ConsentPurpose(ChangeLoggedModel):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("consent purpose")
        verbose_name_plural = _("consent purposes")

    def __str__(self) -> str:
        return self.title

    @property
    def current_text(self) -> ConsentText | None:
        return self.texts.order_by("-version").first()


class ConsentText(TimeStampedModel):
    """One version of a consent's wording; consents keep pointing to the version that was shown."""

    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="texts")
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    sha256 = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["purpose", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "version"], name="privacy_consent_text_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.purpose.code} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.sha256 = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Consent(TimeStampedModel):
    contact = models.ForeignKey("crm.Contact", on_delete=models.PROTECT, related_name="consents")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="consents")
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    given_at = models.DateTimeField(_("given at"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)
    page_url = models.CharField(_("page URL"), max_length=1000, blank=True)
    source = models.CharField(_("source"), max_length=120, blank=True)
    interaction = models.ForeignKey(
        "comms.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="consents"
    )
    method = models.CharField(_("how given"), max_length=16, choices=ConsentMethod.choices, default="form")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_source = models.CharField(_("how withdrawn"), max_length=120, blank=True)

    class Meta:
        ordering = ["-given_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.contact} — {self.purpose.code}"


# --- what each purpose covers -------------------------------------------------------------------


class PurposeRule(TimeStampedModel):
    """What a consent purpose covers, and how long its data is kept (one row per purpose)."""

    purpose = models.OneToOneField(ConsentPurpose, on_delete=models.CASCADE, related_name="rule")
    description = models.TextField(_("what it covers"), blank=True)
    legal_basis = models.CharField(
        _("legal basis"), max_length=16, choices=LegalBasis.choices, default=LegalBasis.CONSENT
    )
    uses = models.JSONField(_("processing it covers"), default=list, blank=True)
    categories = models.JSONField(_("categories of personal data"), default=list, blank=True)
    retention_months = models.PositiveIntegerField(
        _("keep for, months after the last contact"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("purpose rule")
        verbose_name_plural = _("purpose rules")

    def __str__(self) -> str:
        return str(self.purpose)


class PrivacySettings(TimeStampedModel):
    """The operator's details for acts and notices; one row."""

    operator_name = models.CharField(_("operator"), max_length=300, blank=True)
    operator_address = models.CharField(_("operator's address"), max_length=500, blank=True)
    processor_name = models.CharField(_("processor on the operator's behalf"), max_length=300, blank=True)
    information_system = models.CharField(
        _("information system"), max_length=300, default="CRM «Otdel»", blank=True
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person responsible for personal data"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    officer_phone = models.CharField(_("contact phone for Roskomnadzor"), max_length=64, blank=True)
    officer_email = models.CharField(_("contact e-mail for Roskomnadzor"), max_length=254, blank=True)
    # Leads that never became clients: how long after the last contact.
    lead_retention_months = models.PositiveIntegerField(_("leads without a deal: months"), default=12)
    # Clients (anyone with a deal): contract documents are kept for 5 years by accounting law.
    client_retention_months = models.PositiveIntegerField(
        _("clients: months after the last deal"), default=60
    )
    # The consent a Telegram bot asks for before it stores a phone the person shares (none: the bot
    # asks for the phone without a consent text, the phone serves only the inquiry itself).
    telegram_consent_purpose = models.ForeignKey(
        "privacy.ConsentPurpose",
        verbose_name=_("consent the Telegram bot asks for before storing a phone"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("privacy settings")
        verbose_name_plural = _("privacy settings")

    def __str__(self) -> str:
        return str(_("Privacy settings"))

    @classmethod
    def load(cls) -> PrivacySettings:
        obj = cls.objects.order_by("pk").first()
        return obj or cls.objects.create()


# --- consents given on paper ------------------------------------------------------------------


class ConsentScan(TimeStampedModel):
    """The scanned paper a manually entered consent was signed on."""

    consent = models.OneToOneField(Consent, on_delete=models.CASCADE, related_name="scan")
    file = models.FileField(upload_to="privacy/consents/%Y/%m/")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.filename


# --- PD access log --------------------------------------------------------------------------------


class AccessAction(models.TextChoices):
    VIEW = "view", _("Opened the card")
    SEARCH = "search", _("Searched")
    EXPORT = "export", _("Exported")
    API = "api", _("Read through the API")


class PDAccessLog(models.Model):
    """Who opened, searched or exported whose personal data, and when."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user_name = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=8, choices=AccessAction.choices)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    query = models.CharField(_("search or filter"), max_length=500, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    path = models.CharField(_("address"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "-at"])]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")

    def __str__(self) -> str:
        return f"{self.user_name} {self.action} {self.at:%Y-%m-%d %H:%M}"


# --- subject requests -----------------------------------------------------------------------------


class SubjectRequest(ChangeLoggedModel):
    """A person's request under 152-FZ art. 14, 20, 21: answered within 10 working days (+5)."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access to their data")
        CORRECTION = "correction", _("Correction")
        DELETION = "deletion", _("Deletion")
        WITHDRAWAL = "withdrawal", _("Withdrawal of consent")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Answered")
        REFUSED = "refused", _("Refused (reasoned)")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subject_requests",
    )
    # Who asked, as they named themselves (kept until the request is closed and destroyed with them).
    requester = models.CharField(_("requester"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"))
    due_at = models.DateField(_("answer by"))
    extended = models.BooleanField(_("extended by 5 working days (notice sent)"), default=False)
    extension_reason = models.TextField(_("reason for extension"), blank=True)
    details = models.TextField(_("details"), blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)

    class Meta:
        ordering = ["status", "due_at", "id"]
        verbose_name = _("subject request")
        verbose_name_plural = _("subject requests")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"


# --- retention and destruction --------------------------------------------------------------------


class DestructionProposal(TimeStampedModel):
    """A person whose retention period has run out: destroyed once an administrator confirms."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Destroyed")
        DISMISSED = "dismissed", _("Kept")

    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    last_activity_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-created_at", "-id"]
        verbose_name = _("destruction proposal")
        verbose_name_plural = _("destruction proposals")
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(status="proposed"),
                name="privacy_one_open_proposal_per_contact",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.reason}"


class DestructionAct(TimeStampedModel):
    """Act of destruction of personal data (Roskomnadzor order No. 179 of 28.10.2022), kept 3 years.

    The only place the destroyed person's name remains, as the order requires.
    """

    number = models.CharField(_("number"), max_length=32, unique=True)
    # The anonymous statistics row left of the person (no data of theirs remains on it).
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_name = models.CharField(_("operator"), max_length=300, blank=True)
    operator_address = models.CharField(_("operator's address"), max_length=500, blank=True)
    processor_name = models.CharField(_("processor"), max_length=300, blank=True)
    subject_name = models.CharField(_("subject"), max_length=300)
    destroyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    destroyed_by_name = models.CharField(_("destroyed by"), max_length=200)
    destroyed_by_position = models.CharField(_("position"), max_length=200, blank=True)
    categories = models.JSONField(_("categories of destroyed data"), default=list)
    information_system = models.CharField(_("information system"), max_length=300)
    method = models.CharField(_("method"), max_length=500)
    reason = models.CharField(_("reason"), max_length=500)
    destroyed_at = models.DateTimeField(_("destroyed at"))
    # The event log export (order 179 p. 4): what was erased, counts per table and file.
    event_log = models.JSONField(_("event log export"), default=list)
    keep_until = models.DateField(_("keep until"))
    pdf = models.FileField(upload_to="privacy/acts/", blank=True)

    class Meta:
        ordering = ["-destroyed_at", "-id"]
        verbose_name = _("destruction act")
        verbose_name_plural = _("destruction acts")

    def __str__(self) -> str:
        return self.number


class Tombstone(TimeStampedModel):
    """A destroyed identity or provider event, kept only as a keyed hash.

    A later delivery from the same phone starts a new contact (the old one is gone); a repeat
    of an old provider event cannot bring the erased content back onto the anonymous record.
    """

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16)
    act = models.ForeignKey(DestructionAct, null=True, on_delete=models.SET_NULL, related_name="+")
    seen_again = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("tombstone")
        verbose_name_plural = _("tombstones")

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest[:12]}"


# --- breaches -------------------------------------------------------------------------------------


class BreachIncident(ChangeLoggedModel):
    """An unlawful or accidental disclosure: Roskomnadzor is told within 24 hours, then 72 hours
    (152-FZ art. 21 p. 3.1)."""

    title = models.CharField(_("what happened"), max_length=300)
    description = models.TextField(_("description and supposed causes"), blank=True)
    affected = models.TextField(_("whose data, which data, how many people"), blank=True)
    harm = models.TextField(_("supposed harm"), blank=True)
    measures = models.TextField(_("measures taken"), blank=True)
    found_at = models.DateTimeField(_("found at"))
    notice_24h_sent_at = models.DateTimeField(_("first notice sent"), null=True, blank=True)
    investigation = models.TextField(_("results of the internal investigation"), blank=True)
    culprits = models.TextField(_("persons whose actions caused it"), blank=True)
    notice_72h_sent_at = models.DateTimeField(_("second notice sent"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name = _("personal data breach")
        verbose_name_plural = _("personal data breaches")

    def __str__(self) -> str:
        return self.title

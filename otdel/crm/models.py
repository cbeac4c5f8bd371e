"""The CRM core: who the clients are, what they asked for, and the deals we run with them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from otdel.core.identity import IdentityKind, format_phone
from otdel.core.models import ChangeLoggedModel, TimeStampedModel


class Company(ChangeLoggedModel):
    name = models.CharField(_("name"), max_length=255)
    inn = models.CharField(_("INN"), max_length=12, blank=True, db_index=True)
    website = models.CharField(_("website"), max_length=255, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    industry = models.CharField(_("industry"), max_length=120, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="companies",
    )
    comment = models.TextField(_("comment"), blank=True)
    # Requisites for documents (checked by control digits in clean(), otdel/documents/requisites.py).
    full_name = models.CharField(_("full legal name"), max_length=500, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    ogrn = models.CharField(_("OGRN / OGRNIP"), max_length=15, blank=True)
    bank_name = models.CharField(_("bank"), max_length=255, blank=True)
    bik = models.CharField(_("BIK"), max_length=9, blank=True)
    account = models.CharField(_("settlement account"), max_length=20, blank=True)
    corr_account = models.CharField(_("correspondent account"), max_length=20, blank=True)
    signatory = models.CharField(_("signatory"), max_length=255, blank=True)
    signatory_position = models.CharField(_("signatory's position"), max_length=255, blank=True)
    signatory_basis = models.CharField(_("acts on the basis of"), max_length=255, blank=True)
    search_text = models.CharField(max_length=600, blank=True, db_index=True, editable=False)

    REQUISITES = (
        "full_name",
        "kpp",
        "ogrn",
        "bank_name",
        "bik",
        "account",
        "corr_account",
        "signatory",
        "signatory_position",
        "signatory_basis",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        indexes = [models.Index(fields=["name", "id"], name="crm_company_name_id")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from otdel.documents.requisites import validate_requisites

        validate_requisites({name: getattr(self, name) for name in ("inn", *self.REQUISITES)})

    def save(self, *args: object, **kwargs: object) -> None:
        self.search_text = " ".join(filter(None, [self.name, self.inn, self.website])).lower()[:600]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Contact(ChangeLoggedModel):
    full_name = models.CharField(_("full name"), max_length=255)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    position = models.CharField(_("position"), max_length=150, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    non_target = models.BooleanField(_("non-target"), default=False, db_index=True)
    non_target_reason = models.CharField(_("non-target reason"), max_length=32, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # Contacts merged into another keep their row (nothing is lost) and point to the survivor.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
    )
    search_text = models.CharField(max_length=600, blank=True, db_index=True, editable=False)

    class Meta:
        ordering = ["full_name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["responsible", "non_target"]),
            # Keyset pages of the contact list (ordered by name) and of deep API pages.
            models.Index(fields=["full_name", "id"], name="crm_contact_name_id"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args: object, **kwargs: object) -> None:
        self.search_text = " ".join(filter(None, [self.full_name, self.position])).lower()[:600]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Identity(TimeStampedModel):
    """One way to reach a person (phone in E.164, e-mail lower-cased, chat id): unique per kind."""

    kind = models.CharField(_("kind"), max_length=16, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=255)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="identities"
    )
    is_primary = models.BooleanField(_("primary"), default=False)
    label = models.CharField(_("label"), max_length=60, blank=True)

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="crm_identity_kind_value_unique")
        ]

    def __str__(self) -> str:
        return self.display_value

    @property
    def display_value(self) -> str:
        if self.kind in (IdentityKind.PHONE, IdentityKind.WHATSAPP):
            return format_phone(self.value)
        return self.value


class Pipeline(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class Stage(TimeStampedModel):
    class Kind(models.TextChoices):
        OPEN = "open", _("In progress")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=120)
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.OPEN)
    probability = models.PositiveSmallIntegerField(_("probability, %"), default=0)
    color = models.CharField(_("color"), max_length=16, blank=True)

    class Meta:
        ordering = ["pipeline", "order", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="crm_stage_pipeline_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_terminal(self) -> bool:
        return self.kind != self.Kind.OPEN


class LostReason(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        return self.name


class LeadSource(models.TextChoices):
    FORM = "form", _("Web form")
    CALL = "call", _("Phone call")
    EMAIL = "email", _("E-mail")
    MESSENGER = "messenger", _("Messenger")
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    REFERRAL = "referral", _("Referral")


class Channel(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    FORM = "form", _("Web form")
    CHAT = "chat", _("Website chat")
    MANUAL = "manual", _("Manual")
    MEETING = "meeting", _("Meeting")


class Verdict(models.TextChoices):
    QUALIFIED = "qualified", pgettext_lazy("lead verdict", "Qualified")
    NON_TARGET = "non_target", pgettext_lazy("lead verdict", "Non-target")
    DUPLICATE = "duplicate", _("Duplicate")


class NonTargetReason(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    JOB_SEEKER = "job_seeker", _("Job seeker")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    SPAM = "spam", _("Spam")
    SUPPORT = "support", _("Support / existing client question")
    OTHER = "other", _("Other")


class Lead(ChangeLoggedModel):
    """An inbound request (заявка) waiting for triage."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_PROGRESS = "in_progress", _("In progress")
        CLOSED = "closed", _("Closed")

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="leads"
    )
    source = models.CharField(_("source"), max_length=16, choices=LeadSource.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW, db_index=True
    )
    verdict = models.CharField(
        _("verdict"), max_length=16, choices=Verdict.choices, blank=True, db_index=True
    )
    verdict_reason = models.CharField(_("verdict reason"), max_length=255, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("triaged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    triaged_at = models.DateTimeField(_("triaged at"), null=True, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    comment = models.TextField(_("comment"), blank=True)
    utm_source = models.CharField("utm_source", max_length=255, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=255, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=255, blank=True)
    utm_content = models.CharField("utm_content", max_length=255, blank=True)
    utm_term = models.CharField("utm_term", max_length=255, blank=True)
    page_url = models.CharField(_("page URL"), max_length=1000, blank=True)
    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    duplicate_of = models.ForeignKey(
        Contact,
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["responsible", "status"]),
            models.Index(fields=["created_at", "id"], name="crm_lead_created_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.contact}"


class Deal(ChangeLoggedModel):
    title = models.CharField(_("title"), max_length=255)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals")
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason,
        verbose_name=_("lost reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deals",
    )
    lost_comment = models.TextField(_("lost comment"), blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # Position inside its kanban column (lower = higher on the board).
    position = models.FloatField(default=0)

    class Meta:
        ordering = ["position", "-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["stage", "position", "id"]),
            models.Index(fields=["responsible", "stage"]),
            models.Index(fields=["created_at", "id"], name="crm_deal_created_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="crm_deal_amount_not_negative")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.stage.kind == Stage.Kind.OPEN


class Note(TimeStampedModel):
    """A free note by a person, on a contact, a company or a deal (shown on their timelines)."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("text"))
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(company__isnull=False) | Q(deal__isnull=False),
                name="crm_note_has_subject",
            )
        ]

    def __str__(self) -> str:
        return self.body[:60]


class Task(ChangeLoggedModel):
    """A to-do for a person: made by hand, by a missed call (call back), later by automation and SLA."""

    class Kind(models.TextChoices):
        CALL_BACK = "call_back", _("Call back")
        TODO = "todo", _("To do")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", _("Write an e-mail")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TODO)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    # The interaction that made it (a missed call's call-back); one call-back per call, so a
    # replayed event makes one task. A string reference: comms builds on crm, not the reverse.
    interaction = models.ForeignKey(
        "comms.Interaction",
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["interaction"],
                condition=Q(kind="call_back", interaction__isnull=False),
                name="crm_task_one_call_back_per_interaction",
            )
        ]
        indexes = [models.Index(fields=["assignee", "done_at", "due_at"])]

    def __str__(self) -> str:
        return self.title


class SearchEntry(models.Model):
    """What the search finds a record by (``otdel.crm.search`` writes it; never edited by hand).

    ``text`` is the record's words normalized (lower case, ё = е, punctuation gone) between
    spaces, so " смир" means "a word starting with смир"; PostgreSQL indexes it with pg_trgm and
    SQLite with an FTS5 trigram table. A phone row holds the phone's digits reversed in ``digits``,
    so the last digits of a number are a prefix that an ordinary index finds.
    """

    class Kind(models.TextChoices):
        CONTACT = "contact", _("Contact")
        COMPANY = "company", _("Company")
        DEAL = "deal", _("Deal")
        PHONE = "phone", _("Phone")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    text = models.TextField(blank=True)
    digits = models.CharField(max_length=32, blank=True)
    contact = models.OneToOneField(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    company = models.OneToOneField(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    deal = models.OneToOneField(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    identity = models.OneToOneField(
        Identity, null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        indexes = [
            models.Index(
                fields=["digits"],
                condition=Q(kind="phone"),
                name="crm_search_phone_digits",
                opclasses=["varchar_pattern_ops"],  # PostgreSQL: LIKE 'prefix%' under any collation
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text or self.digits}"


class SearchWord(models.Model):
    """Every word of 5+ letters the search index holds: where "Киселва" finds its "киселева"."""

    word = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("search word")
        verbose_name_plural = _("search words")

    def __str__(self) -> str:
        return self.word

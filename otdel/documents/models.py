"""Catalog, deal line items, our legal entities, numbering, DOCX templates and generated documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel
from otdel.documents.requisites import validate_requisites


class VatRate(models.TextChoices):
    VAT20 = "20", _("VAT 20%")
    VAT10 = "10", _("VAT 10%")
    VAT0 = "0", _("VAT 0%")
    NONE = "none", _("No VAT")


# Short names of the Russian classifier of units (ОКЕИ) that sales departments use most.
UNITS = ["шт", "усл", "ч", "кг", "т", "м", "м2", "м3", "л", "компл", "упак", "мес", "дн", "рейс"]

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Product(ChangeLoggedModel):
    """A product or a service of the catalog; its price includes VAT."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=500)
    unit = models.CharField(_("unit"), max_length=16, default="шт")
    price = models.DecimalField(_("price"), **MONEY, default=Decimal("0"), validators=NOT_NEGATIVE)
    vat_rate = models.CharField(_("VAT rate"), max_length=4, choices=VatRate.choices, default=VatRate.VAT20)
    is_active = models.BooleanField(_("active"), default=True, db_index=True)
    search_text = models.CharField(max_length=600, blank=True, db_index=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("catalog")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = f"{self.sku} {self.name}".lower()[:600]
        super().save(*args, **kwargs)


class DealItem(TimeStampedModel):
    """A line of a deal: a catalog product or free text. ``total``/``vat`` are stored as computed."""

    deal = models.ForeignKey("crm.Deal", on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=500)
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    unit = models.CharField(_("unit"), max_length=16, default="шт")
    price = models.DecimalField(_("price"), **MONEY, validators=NOT_NEGATIVE)
    discount_percent = models.DecimalField(
        _("discount, %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    vat_rate = models.CharField(_("VAT rate"), max_length=4, choices=VatRate.choices, default=VatRate.VAT20)
    total = models.DecimalField(_("total"), **MONEY, default=Decimal("0"))
    vat = models.DecimalField(_("VAT"), **MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["deal", "position", "id"]
        verbose_name = _("deal line item")
        verbose_name_plural = _("deal line items")

    def __str__(self) -> str:
        return self.name


class LegalEntity(ChangeLoggedModel):
    """One of "my companies": whose name, requisites and signatory the documents carry."""

    name = models.CharField(_("short name"), max_length=255)
    full_name = models.CharField(_("full legal name"), max_length=500, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    ogrn = models.CharField(_("OGRN / OGRNIP"), max_length=15, blank=True)
    address = models.CharField(_("legal address"), max_length=500, blank=True)
    bank_name = models.CharField(_("bank"), max_length=255, blank=True)
    bik = models.CharField(_("BIK"), max_length=9, blank=True)
    account = models.CharField(_("settlement account"), max_length=20, blank=True)
    corr_account = models.CharField(_("correspondent account"), max_length=20, blank=True)
    signatory = models.CharField(_("signatory"), max_length=255, blank=True)
    signatory_position = models.CharField(_("signatory's position"), max_length=255, blank=True)
    signatory_basis = models.CharField(_("acts on the basis of"), max_length=255, blank=True)
    accountant = models.CharField(_("chief accountant"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    REQUISITES = (
        "name",
        "full_name",
        "inn",
        "kpp",
        "ogrn",
        "address",
        "bank_name",
        "bik",
        "account",
        "corr_account",
        "signatory",
        "signatory_position",
        "signatory_basis",
        "accountant",
        "phone",
        "email",
    )

    class Meta:
        ordering = ["-is_default", "name", "id"]
        verbose_name = _("our legal entity")
        verbose_name_plural = _("our legal entities")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="documents_one_default_entity"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        validate_requisites({name: getattr(self, name) for name in self.REQUISITES})


class NumberingSequence(TimeStampedModel):
    """A number pattern such as ``Д-{YYYY}-{N:04}``, per legal entity (or shared), with its reset rule."""

    class Reset(models.TextChoices):
        YEARLY = "yearly", _("Every year")
        NEVER = "never", _("Never")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    pattern = models.CharField(_("pattern"), max_length=120)
    reset = models.CharField(_("reset"), max_length=8, choices=Reset.choices, default=Reset.YEARLY)
    legal_entity = models.ForeignKey(
        LegalEntity,
        verbose_name=_("legal entity"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sequences",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("numbering sequence")
        verbose_name_plural = _("numbering sequences")

    def __str__(self) -> str:
        return self.code


class NumberingCounter(models.Model):
    """The last number issued by a sequence in a period (a year, or 0 for "never reset").

    Incremented by one UPDATE inside the issuing transaction, so concurrent issuers queue on the row.
    """

    sequence = models.ForeignKey(NumberingSequence, on_delete=models.CASCADE, related_name="counters")
    period = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sequence", "period"], name="documents_counter_sequence_period")
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}/{self.period}: {self.last}"


class DocumentTemplate(ChangeLoggedModel):
    """An uploaded DOCX with docxtpl (Jinja2) tags; ``variables`` are the names it uses."""

    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    numbering = models.ForeignKey(
        NumberingSequence,
        verbose_name=_("numbering"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="templates",
    )
    file = models.CharField(_("file"), max_length=500)  # a name in the documents storage
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    variables = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Raised by each new file uploaded for the template (the old files stay in the storage).
    revision = models.PositiveIntegerField(_("file version"), default=1)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")

    def __str__(self) -> str:
        return self.name


class DocumentStatus(models.TextChoices):
    GENERATING = "generating", _("Generating")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    IN_APPROVAL = "in_approval", _("In approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REWORK = "rework", _("Rework")


# Statuses in which the document's files are frozen: no new version until the approval ends.
LOCKED_STATUSES = {DocumentStatus.IN_APPROVAL}


class Document(ChangeLoggedModel):
    """A numbered document of a deal made from a template; its files are kept as versions."""

    deal = models.ForeignKey(
        "crm.Deal", verbose_name=_("deal"), on_delete=models.PROTECT, related_name="documents"
    )
    template = models.ForeignKey(
        DocumentTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="documents"
    )
    legal_entity = models.ForeignKey(
        LegalEntity,
        verbose_name=_("legal entity"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    numbering = models.ForeignKey(
        NumberingSequence,
        verbose_name=_("numbering"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=255)
    number = models.CharField(_("number"), max_length=64, blank=True, db_index=True)
    date = models.DateField(_("date"))
    format = models.CharField(_("format"), max_length=4, default="pdf")
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DocumentStatus.choices,
        default=DocumentStatus.GENERATING,
        db_index=True,
    )
    error = models.TextField(_("error"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    current_version = models.PositiveIntegerField(default=0)
    # The version the worker is making now (0: none); a retry or regeneration sets it.
    pending_version = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(
                fields=["numbering", "number"],
                condition=~Q(number=""),
                name="documents_number_unique_per_numbering",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} № {self.number}" if self.number else self.title

    @property
    def is_locked(self) -> bool:
        return self.status in LOCKED_STATUSES

    @property
    def may_regenerate(self) -> bool:
        """A new version can be made: not while generating or in approval, never once approved."""
        return self.status not in (DocumentStatus.GENERATING, DocumentStatus.APPROVED) and not self.is_locked


class DocumentVersion(models.Model):
    """One stored file of a document: version N in one format. Never overwritten."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    format = models.CharField(max_length=4)
    file = models.CharField(max_length=500)
    preview = models.CharField(max_length=500, blank=True)  # PNG of the PDF's first page
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField(null=True, blank=True)
    # The PDF with the approval sheet appended, made when an approval route ends approved.
    approved = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-version", "format"]
        constraints = [
            models.UniqueConstraint(fields=["document", "version", "format"], name="documents_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.version} {self.format}"

"""Import jobs with their per-row report, and the log of every export (read by the privacy app)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    AUTO = "auto", _("Recognize (amoCRM, Bitrix24)")
    CONTACTS = "contacts", _("Contacts")
    COMPANIES = "companies", _("Companies")
    DEALS = "deals", _("Deals with their contacts and companies")
    LEADS = "leads", _("Leads")
    PRODUCTS = "products", _("Products and services (catalog)")


class Dedupe(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    FILL = "fill", _("Fill in empty fields")
    OVERWRITE = "overwrite", _("Overwrite fields")


class ImportJob(models.Model):
    """One uploaded file on its way in: mapping, progress, counts; rows it made are in ImportRow."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Waiting for the mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        UNDONE = "undone", _("Undone")

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    layout = models.CharField(_("recognized layout"), max_length=32, blank=True)
    file = models.FileField(_("file"), upload_to="transfer/imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(max_length=8)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)
    # {"<column index>": "<target field>"}; value_maps: {"stage"|"responsible"|"source": {raw: value}}
    mapping = models.JSONField(default=dict, blank=True)
    value_maps = models.JSONField(default=dict, blank=True)
    pipeline = models.ForeignKey(
        "crm.Pipeline",
        verbose_name=_("pipeline"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    dedupe = models.CharField(
        _("when the record exists"), max_length=16, choices=Dedupe.choices, default=Dedupe.FILL
    )
    dry_run = models.BooleanField(_("dry run"), default=True)
    skip_invalid = models.BooleanField(_("import valid rows, skip rows with errors"), default=False)
    route_owners = models.BooleanField(_("assign owners by routing rules where none is given"), default=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    message = models.TextField(_("message"), blank=True)
    total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    # The last file row (header = 1) whose outcome is committed: a resumed run starts after it.
    last_row = models.PositiveIntegerField(default=1)
    done_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Where the current run (after a restart, the resumed one) began: the rate counts from here.
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_started_rows = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"


class ImportRow(models.Model):
    """The outcome of one file row; ``records`` lists what the row created or changed (for undo)."""

    class Outcome(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        MERGED = "merged", _("Merged")
        SKIPPED = "skipped", _("Skipped")
        ERROR = "error", _("Error")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    row = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    field = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    # [[model label, pk, "created" | "changed", [ObjectChange ids]], ...]
    records = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job", "row"]
        constraints = [
            models.UniqueConstraint(fields=["job", "row"], name="transfer_importrow_job_row_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.outcome}"


class ExportLog(models.Model):
    """Who exported what (list, filters, rows): the personal-data access log reads this."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user_name = models.CharField(_("user name"), max_length=150)
    kind = models.CharField(_("list"), max_length=16)
    file_format = models.CharField(_("format"), max_length=8)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DONE)
    file = models.FileField(upload_to="transfer/exports/%Y/%m/", blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("export log")

    def __str__(self) -> str:
        return f"{self.user_name} {self.kind} {self.at:%Y-%m-%d %H:%M}"

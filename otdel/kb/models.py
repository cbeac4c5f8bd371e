"""Regulations and FAQ: articles in Markdown, their published versions, stage checklists, reading receipts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel


class Section(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Article(ChangeLoggedModel):
    """A regulation (a procedure to follow) or an FAQ entry (a question and its answer).

    ``title`` and ``body`` are the working copy; each publication freezes them into an
    ArticleVersion (``published_number`` is the newest), and readers see that version.
    """

    class Kind(models.TextChoices):
        REGULATION = "regulation", _("Regulation")
        FAQ = "faq", _("FAQ")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    class Language(models.TextChoices):
        RU = "ru", _("Russian")
        EN = "en", _("English")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.REGULATION)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text (Markdown)"), blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.RU)
    # Not indexed: a department has hundreds of articles, and with an index on status SQLite's
    # planner would pick it over the primary key for "status = … AND id IN (…)" (search).
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    section = models.ForeignKey(
        Section,
        verbose_name=_("section"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="articles")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kb_articles",
    )
    review_at = models.DateField(_("review by"), null=True, blank=True)
    # The review date the owner was last reminded of: one reminder per date.
    review_reminded_for = models.DateField(null=True, blank=True, editable=False)
    published_number = models.PositiveIntegerField(_("published version"), default=0, editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    # Where the article is shown: deal stages, lead sources, channels, document kinds, lead triage.
    stages = models.ManyToManyField(
        "crm.Stage", verbose_name=_("pipeline stages"), blank=True, related_name="kb_articles"
    )
    sources = models.JSONField(_("lead sources"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    document_kinds = models.JSONField(_("document kinds"), default=list, blank=True)
    for_triage = models.BooleanField(_("shown on the lead inbox"), default=False)
    # Who must confirm having read the current version.
    ack_roles = models.JSONField(_("acknowledgement by roles"), default=list, blank=True)
    ack_departments = models.ManyToManyField(
        "accounts.Department",
        verbose_name=_("acknowledgement by departments"),
        blank=True,
        related_name="kb_articles",
    )

    class Meta:
        ordering = ["kind", "title", "id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.title

    @property
    def needs_acknowledgement(self) -> bool:
        return bool(self.ack_roles) or self.ack_departments.exists()


class ArticleVersion(models.Model):
    """A published state of an article, kept readable forever."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text (Markdown)"), blank=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        ordering = ["article", "-number"]
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_version_article_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"


class ChecklistItem(models.Model):
    """A step a salesperson ticks on a deal in the stages the regulation is tied to.

    A required item must be done before the deal leaves the stage (the stage gate)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="checklist")
    text = models.CharField(_("text"), max_length=300)
    required = models.BooleanField(_("required to leave the stage"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["article", "order", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")

    def __str__(self) -> str:
        return self.text


class DealChecklistMark(models.Model):
    """An item ticked (or unticked) on a deal."""

    deal = models.ForeignKey("crm.Deal", on_delete=models.CASCADE, related_name="kb_marks")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="marks")
    done = models.BooleanField(default=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "item"], name="kb_mark_deal_item_unique")]
        verbose_name = _("checklist mark")
        verbose_name_plural = _("checklist marks")

    def __str__(self) -> str:
        return f"{self.deal_id}:{self.item_id}={self.done}"


class StageExit(models.Model):
    """A deal left a stage that had a checklist: was every item done? Feeds adherence reports."""

    deal = models.ForeignKey("crm.Deal", on_delete=models.CASCADE, related_name="kb_stage_exits")
    stage = models.ForeignKey("crm.Stage", on_delete=models.CASCADE, related_name="kb_exits")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    complete = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("stage exit")
        verbose_name_plural = _("stage exits")

    def __str__(self) -> str:
        return f"{self.deal_id} left {self.stage_id}"


class Acknowledgement(models.Model):
    """A user confirmed having read one version of an article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(_("version"))
    at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [
            models.UniqueConstraint(fields=["article", "user", "number"], name="kb_ack_once_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.article_id} v{self.number}"


class ArticleIndex(models.Model):
    """Lemmas of a published article, the search engine's input (SQLite FTS5 / PostgreSQL tsvector).

    On SQLite, triggers copy each row into the FTS5 table ``kb_article_fts``; on PostgreSQL a
    generated ``search_vector`` column with a GIN index holds it (migration 0002).
    """

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="index")
    title_lemmas = models.TextField(blank=True)
    body_lemmas = models.TextField(blank=True)
    plain = models.TextField(blank=True)  # the body as plain text, for snippets

    class Meta:
        verbose_name = _("search index row")
        verbose_name_plural = _("search index")

    def __str__(self) -> str:
        return str(self.article_id)


class SearchMiss(models.Model):
    """A query that found nothing: candidates for new FAQ entries."""

    query = models.CharField(_("query"), max_length=200, unique=True)
    count = models.PositiveIntegerField(_("times"), default=1)
    first_at = models.DateTimeField(_("first"), auto_now_add=True)
    last_at = models.DateTimeField(_("last"), auto_now=True, db_index=True)
    resolved = models.BooleanField(_("answered"), default=False)

    class Meta:
        ordering = ["resolved", "-count", "-last_at"]
        verbose_name = _("search without results")
        verbose_name_plural = _("searches without results")

    def __str__(self) -> str:
        return self.query


class Attachment(TimeStampedModel):
    """An image or a file uploaded for an article and linked from its Markdown."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="kb/%Y/%m/")
    name = models.CharField(_("name"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["article", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name

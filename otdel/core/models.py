"""Model mixins every domain app composes, and the change log row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class ChangeLoggedModel(TimeStampedModel):
    """Every create, update and delete of a subclass is written to ObjectChange.

    ``version`` grows by one on each save; edit forms and the API send back the version they
    read, and services refuse a save whose version is stale (optimistic locking, 409).
    """

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Field values as loaded from the database: the "old" side of the change-log diff.
    _loaded_values: dict[str, Any]

    # Fields left out of the change log (noise, or kept elsewhere).
    changelog_exclude: tuple[str, ...] = ("created_at", "updated_at", "version", "search_text")

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._loaded_values = instance.changelog_snapshot(skip=instance.get_deferred_fields())
        return instance

    def changelog_snapshot(self, skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """Field values as the change log stores them (attnames), leaving out deferred ones."""
        data: dict[str, Any] = {}
        for field in self._meta.concrete_fields:
            if field.name in self.changelog_exclude or field.attname in skip:
                continue
            value = field.value_from_object(self)
            if isinstance(field, models.DecimalField) and value is not None:
                value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
            data[field.attname] = value
        return data


class ObjectChange(models.Model):
    """One audited action on a record: who, when, what, old and new values."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        MERGE = "merge", _("Merged")
        TRIAGE = "triage", _("Triaged")
        MOVE = "move", _("Moved")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user_name = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=200)
    # {"field": [old, new]} for updates; the full snapshot for create/delete; free data otherwise.
    changes = models.JSONField(default=dict, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-at"])]
        verbose_name = _("change")
        verbose_name_plural = _("change log")

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"


class CalendarDay(models.Model):
    """An exception to the Monday-to-Friday week: a holiday, a working weekend, a shortened day.

    Shipped for 2025-2027 (the Russian production calendar), editable by the administrator.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Day off")
        WORKING = "working", _("Working day")
        SHORT = "short", _("Shortened working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("production calendar")

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.get_kind_display()}"


class ScheduledJob(models.Model):
    """When a periodic job is next due; claimed with a conditional UPDATE so it runs once per period
    even with several schedulers running."""

    name = models.CharField(max_length=120, unique=True)
    next_run_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")

    def __str__(self) -> str:
        return self.name

"""Operations records: heartbeats of the background processes, the scheduler's lease, backups, restores."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """The last sign of life of a kind of background process ("worker"), for /healthz."""

    name = models.CharField(max_length=64, unique=True)
    beat_at = models.DateTimeField(_("last heartbeat"))
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return self.name


class SchedulerLease(models.Model):
    """Who may run the scheduler now: one holder at a time, taken over only after it expires.

    Renewed by its holder every few seconds, so ``renewed_at`` is also the scheduler's heartbeat.
    """

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("scheduler lease")
        verbose_name_plural = _("scheduler leases")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"


class Backup(models.Model):
    """One run of ``manage.py backup`` (by hand or scheduled) and where its archive went."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("Done")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("By hand")
        SCHEDULED = "scheduled", _("Scheduled")

    started_at = models.DateTimeField(_("started"), db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(
        _("how started"), max_length=16, choices=Trigger.choices, default=Trigger.MANUAL
    )
    location = models.CharField(_("location"), max_length=1000, blank=True)
    size = models.PositiveBigIntegerField(_("size, bytes"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.status}"


class RestoreRecord(models.Model):
    """A restore done into this installation: written into the restored database itself."""

    restored_at = models.DateTimeField(_("restored"))
    archive = models.CharField(_("archive"), max_length=1000)
    archive_created_at = models.DateTimeField(_("archive made"), null=True, blank=True)
    version = models.CharField(_("version"), max_length=32, blank=True)
    actor = models.CharField(_("by"), max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-restored_at", "-id"]
        verbose_name = _("restore")
        verbose_name_plural = _("restores")

    def __str__(self) -> str:
        return f"{self.restored_at:%Y-%m-%d %H:%M} {self.archive}"

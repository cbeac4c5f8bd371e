"""Consent purposes, the exact text versions people agreed to, and each consent given."""

from __future__ import annotations

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel


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
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["-given_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.contact} — {self.purpose.code}"

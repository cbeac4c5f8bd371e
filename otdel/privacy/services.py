"""Writes of consents: purposes with versioned wording, and each consent a person gives."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from otdel.core.changelog import record_change
from otdel.core.context import acting_as
from otdel.core.events import ConsentGiven, ConsentTextCreated, emit
from otdel.core.models import ObjectChange
from otdel.privacy.models import Consent, ConsentPurpose, ConsentText


@dataclass(frozen=True)
class PurposeUpsertResult:
    purpose: ConsentPurpose
    text: ConsentText
    created: bool  # the purpose is new
    new_version: bool  # a new text version was stored (also true for a new purpose)


def normalize_consent_text(text: str) -> str:
    """One wording = one hash: line endings and surrounding blanks must not make a "new" version."""
    return "\n".join(
        line.rstrip() for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ).strip()


@transaction.atomic
def consent_purpose_upsert(
    *, actor: Any, code: str, title: str, text: str, is_active: bool | None = None
) -> PurposeUpsertResult:
    """Create the purpose or update it; a changed wording becomes the next text version.

    Consents already given keep pointing to the version the person saw.
    """
    with acting_as(actor):
        code = (code or "").strip()
        title = (title or "").strip()
        text = normalize_consent_text(text)
        errors: dict[str, list[str]] = {}
        if not title:
            errors["title"] = [_("This field is required.")]
        if not text:
            errors["text"] = [_("Enter the text the person agrees to.")]
        purpose = ConsentPurpose.objects.select_for_update().filter(code=code).first()
        created = purpose is None
        if purpose is None:
            purpose = ConsentPurpose(code=code)
        changed = (
            created
            or (title and purpose.title != title)
            or (is_active is not None and purpose.is_active != is_active)
        )
        purpose.title = title or purpose.title
        if is_active is not None:
            purpose.is_active = is_active
        try:
            purpose.full_clean(validate_unique=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)
        if changed:
            purpose.save()

        current = purpose.current_text if not created else None
        if current is not None and current.text == text:
            return PurposeUpsertResult(purpose, current, created=False, new_version=False)
        version = (current.version if current else 0) + 1
        new_text = ConsentText.objects.create(purpose=purpose, version=version, text=text)
        if current is not None:
            # The wording itself is not change-logged by the model: say who replaced it and when.
            record_change(
                purpose,
                ObjectChange.Action.UPDATE,
                changes={
                    "text_version": [current.version, version],
                    "sha256": [current.sha256, new_text.sha256],
                },
                message="consent text changed",
            )
        emit(ConsentTextCreated(text_id=new_text.pk))
        return PurposeUpsertResult(purpose, new_text, created=created, new_version=True)


@transaction.atomic
def consent_record(
    *,
    contact: Any,
    purpose: ConsentPurpose,
    text: ConsentText,
    given_at: datetime.datetime,
    ip: str | None = None,
    user_agent: str = "",
    page_url: str = "",
    source: str = "",
    interaction: Any = None,
) -> Consent:
    """Keep proof of one consent: what exact wording, when, from where."""
    if text.purpose_id != purpose.pk:
        raise ValidationError({"text": [_("This text belongs to another consent purpose.")]})
    consent = Consent.objects.create(
        contact=contact,
        purpose=purpose,
        text=text,
        given_at=given_at,
        ip=ip or None,
        user_agent=(user_agent or "")[:500],
        page_url=(page_url or "")[:1000],
        source=(source or "")[:120],
        interaction=interaction,
    )
    emit(ConsentGiven(consent_id=consent.pk))
    return consent

"""Writes of the privacy app: consents (given, entered from paper, withdrawn), subject requests,
breach incidents, retention proposals. Destruction itself lives in ``destruction.py``."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from otdel.core.changelog import record_change
from otdel.core.context import acting_as
from otdel.core.events import ConsentGiven, ConsentTextCreated, ConsentWithdrawn, emit
from otdel.core.models import ObjectChange
from otdel.privacy.models import (
    BreachIncident,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    ConsentScan,
    ConsentText,
    LegalBasis,
    PurposeRule,
    SubjectRequest,
)


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
    method: str = ConsentMethod.FORM,
    recorded_by: Any = None,
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
        method=method,
        recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
    )
    emit(ConsentGiven(consent_id=consent.pk))
    return consent


# --- what a purpose covers ----------------------------------------------------------------------


@transaction.atomic
def purpose_rule_set(
    *,
    actor: Any,
    purpose: ConsentPurpose,
    description: str = "",
    legal_basis: str = LegalBasis.CONSENT,
    uses: list[str] | None = None,
    categories: list[str] | None = None,
    retention_months: int | None = None,
) -> PurposeRule:
    """Say what a purpose covers (which processing stops when it is withdrawn) and how long it keeps data."""
    from otdel.privacy.models import ProcessingUse
    from otdel.privacy.register import CATEGORIES

    uses = list(dict.fromkeys(uses or []))
    categories = list(dict.fromkeys(categories or []))
    errors: dict[str, list[str]] = {}
    if any(u not in ProcessingUse.values for u in uses):
        errors["uses"] = [_("Unknown kind of processing.")]
    if any(c not in CATEGORIES for c in categories):
        errors["categories"] = [_("Unknown category of personal data.")]
    if legal_basis not in LegalBasis.values:
        errors["legal_basis"] = [_("Unknown legal basis.")]
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        rule, _created = PurposeRule.objects.update_or_create(
            purpose=purpose,
            defaults={
                "description": description,
                "legal_basis": legal_basis,
                "uses": uses,
                "categories": categories,
                "retention_months": retention_months,
            },
        )
        record_change(purpose, ObjectChange.Action.UPDATE, changes={"uses": uses}, message="purpose rule set")
    return rule


@transaction.atomic
def consent_purpose_save(
    *,
    actor: Any,
    code: str,
    title: str,
    text: str,
    is_active: bool,
    legal_basis: str,
    uses: list[str],
    categories: list[str],
    description: str = "",
    retention_months: int | None = None,
    must_be_new: bool = False,
) -> PurposeUpsertResult:
    """The purpose page's save: wording (a new version when changed) and what it covers, together."""
    if must_be_new and ConsentPurpose.objects.filter(code=(code or "").strip()).exists():
        raise ValidationError({"code": [_("A purpose with this code already exists.")]})
    saved = consent_purpose_upsert(actor=actor, code=code, title=title, text=text, is_active=is_active)
    purpose_rule_set(
        actor=actor,
        purpose=saved.purpose,
        description=description,
        legal_basis=legal_basis,
        uses=uses,
        categories=categories,
        retention_months=retention_months,
    )
    return saved


# --- consent entered by hand (paper), and withdrawal ---------------------------------------------


@transaction.atomic
def consent_record_manual(
    *,
    actor: Any,
    contact: Any,
    purpose: ConsentPurpose,
    given_at: datetime.datetime,
    scan: Any = None,
    text: ConsentText | None = None,
) -> Consent:
    """A consent signed on paper: the wording version it was printed with and the scanned sheet."""
    text = text or purpose.current_text
    if text is None:
        raise ValidationError({"purpose": [_("This purpose has no text yet.")]})
    if scan is None:
        raise ValidationError({"scan": [_("Attach the scanned signed consent.")]})
    with acting_as(actor):
        consent = consent_record(
            contact=contact,
            purpose=purpose,
            text=text,
            given_at=given_at,
            source=_("paper, entered by %(user)s") % {"user": actor.get_full_name()},
            method=ConsentMethod.MANUAL,
            recorded_by=actor,
        )
        data = scan.read()
        scan.seek(0)
        ConsentScan.objects.create(
            consent=consent,
            file=scan,
            filename=(getattr(scan, "name", "") or "scan")[:255],
            sha256=hashlib.sha256(data).hexdigest(),
        )
        record_change(
            contact, ObjectChange.Action.UPDATE, changes={"consent": purpose.code}, message="consent entered"
        )
    return consent


@transaction.atomic
def consent_withdraw(*, actor: Any, contact: Any, purpose: ConsentPurpose, source: str = "") -> int:
    """Withdraw every active consent of ``contact`` for ``purpose``; returns how many were active.

    Whatever the purpose covers stops at once: ``processing_allowed`` answers False for its uses
    on every channel, and subscribers of ``ConsentWithdrawn`` cancel what is queued.
    """
    from django.utils import timezone

    now = timezone.now()
    count = Consent.objects.filter(contact=contact, purpose=purpose, withdrawn_at__isnull=True).update(
        withdrawn_at=now,
        withdrawn_by=actor if getattr(actor, "pk", None) else None,
        withdrawal_source=(source or "")[:120],
    )
    with acting_as(actor):
        record_change(
            contact,
            ObjectChange.Action.UPDATE,
            changes={"consent_withdrawn": purpose.code},
            message="consent withdrawn",
        )
    rule = PurposeRule.objects.filter(purpose=purpose).first()
    emit(
        ConsentWithdrawn(
            contact_id=contact.pk,
            purpose=purpose.code,
            uses=tuple(rule.uses if rule else ()),
            actor_id=getattr(actor, "pk", None),
        )
    )
    return count


class ConsentRequired(ValidationError):
    """Processing that needs a consent the person has not given or has withdrawn."""


def processing_allowed(*, contact: Any, use: str) -> bool:
    """May Otdel do ``use`` (a ProcessingUse) with this person's data now?

    A use covered only by consent-based purposes needs an active consent for one of them; a use
    no consent-based purpose covers (answering the person, a contract) is allowed.
    """
    rules = [
        r
        for r in PurposeRule.objects.select_related("purpose")
        if use in r.uses and r.legal_basis == LegalBasis.CONSENT
    ]
    if not rules:
        return True
    return Consent.objects.filter(
        contact=contact, purpose__in=[r.purpose for r in rules], withdrawn_at__isnull=True
    ).exists()


def processing_require(*, contact: Any, use: str) -> None:
    """Raise ConsentRequired with a message a user understands when ``use`` is not allowed.

    Senders of marketing e-mails and messages, and anything else a purpose covers, call this first.
    """
    if processing_allowed(contact=contact, use=use):
        return
    from otdel.privacy.models import ProcessingUse

    withdrawn = (
        Consent.objects.filter(contact=contact, withdrawn_at__isnull=False, purpose__rule__uses__isnull=False)
        .select_related("purpose")
        .order_by("-withdrawn_at")
        .first()
    )
    label = ProcessingUse(use).label if use in ProcessingUse.values else use
    if withdrawn is not None:
        message = _(
            "Consent “%(purpose)s” of %(name)s was withdrawn on %(date)s; without it this is not allowed: %(use)s."
        ) % {
            "name": contact.full_name,
            "purpose": withdrawn.purpose.title,
            "date": withdrawn.withdrawn_at.strftime("%d.%m.%Y") if withdrawn.withdrawn_at else "",
            "use": label,
        }
    else:
        message = _("%(name)s has not given the consent this needs: %(use)s.") % {
            "name": contact.full_name,
            "use": label,
        }
    raise ConsentRequired({"__all__": [message]}, code="consent_required")


# --- subject requests ----------------------------------------------------------------------------

ANSWER_WORKING_DAYS = 10
EXTENSION_WORKING_DAYS = 5


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The ``days``-th working day after ``start`` by the production calendar (``start`` not counted)."""
    from otdel.core.calendar import is_working_day

    day = start
    left = days
    while left > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def subject_request_due(received_at: datetime.datetime, *, extended: bool = False) -> datetime.date:
    """10 working days from receipt (152-FZ art. 14 p. 3, art. 20, 21), +5 with a reasoned notice."""
    from django.utils import timezone

    received = timezone.localdate(received_at) if timezone.is_aware(received_at) else received_at.date()
    due = add_working_days(received, ANSWER_WORKING_DAYS)
    return add_working_days(due, EXTENSION_WORKING_DAYS) if extended else due


@transaction.atomic
def subject_request_create(
    *,
    actor: Any,
    kind: str,
    received_at: datetime.datetime,
    contact: Any = None,
    requester: str = "",
    details: str = "",
    responsible: Any = None,
) -> SubjectRequest:
    if kind not in SubjectRequest.Kind.values:
        raise ValidationError({"kind": [_("Unknown kind of request.")]})
    if contact is None and not requester.strip():
        raise ValidationError({"contact": [_("Name the contact or the person who asked.")]})
    from otdel.privacy.models import PrivacySettings

    with acting_as(actor):
        request = SubjectRequest.objects.create(
            kind=kind,
            contact=contact,
            requester=(requester or (contact.full_name if contact else ""))[:300],
            received_at=received_at,
            due_at=subject_request_due(received_at),
            details=details,
            responsible=responsible or PrivacySettings.load().officer or actor,
        )
    return request


@transaction.atomic
def subject_request_extend(*, actor: Any, request: SubjectRequest, reason: str) -> SubjectRequest:
    """+5 working days, once, with the reasoned notice to the person (art. 14 p. 3, art. 20 p. 1)."""
    if request.extended:
        raise ValidationError({"__all__": [_("The deadline has already been extended once.")]})
    if not reason.strip():
        raise ValidationError({"reason": [_("Give the reason the person is told.")]})
    with acting_as(actor):
        request.extended = True
        request.extension_reason = reason.strip()
        request.due_at = add_working_days(request.due_at, EXTENSION_WORKING_DAYS)
        request.save()
    return request


@transaction.atomic
def subject_request_close(
    *, actor: Any, request: SubjectRequest, answer: str, refused: bool = False
) -> SubjectRequest:
    from django.utils import timezone

    if request.status != SubjectRequest.Status.OPEN:
        raise ValidationError({"__all__": [_("This request is already closed.")]})
    with acting_as(actor):
        request.status = SubjectRequest.Status.REFUSED if refused else SubjectRequest.Status.DONE
        request.answer = answer
        request.answered_at = timezone.now()
        request.save()
    return request


@transaction.atomic
def subject_request_withdraw_all(*, actor: Any, request: SubjectRequest) -> int:
    """A withdrawal request: every consent-based purpose of the person is withdrawn."""
    if request.contact is None:
        raise ValidationError({"contact": [_("Link the request to a contact first.")]})
    count = 0
    for purpose in ConsentPurpose.objects.filter(consents__contact=request.contact).distinct():
        count += consent_withdraw(
            actor=actor, contact=request.contact, purpose=purpose, source=f"request #{request.pk}"
        )
    return count


# --- breaches ------------------------------------------------------------------------------------


@transaction.atomic
def breach_create(
    *,
    actor: Any,
    title: str,
    found_at: datetime.datetime,
    description: str = "",
    affected: str = "",
    harm: str = "",
    measures: str = "",
) -> BreachIncident:
    if not title.strip():
        raise ValidationError({"title": [_("This field is required.")]})
    with acting_as(actor):
        return BreachIncident.objects.create(
            title=title.strip(),
            found_at=found_at,
            description=description,
            affected=affected,
            harm=harm,
            measures=measures,
            created_by=actor if getattr(actor, "pk", None) else None,
        )


@transaction.atomic
def breach_mark_sent(*, actor: Any, incident: BreachIncident, notice: str) -> BreachIncident:
    from django.utils import timezone

    with acting_as(actor):
        if notice == "24h":
            incident.notice_24h_sent_at = incident.notice_24h_sent_at or timezone.now()
        elif notice == "72h":
            incident.notice_72h_sent_at = incident.notice_72h_sent_at or timezone.now()
        else:
            raise ValidationError({"notice": [_("Unknown notice.")]})
        incident.save()
    return incident

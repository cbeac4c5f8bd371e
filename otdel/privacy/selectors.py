"""Reads of consent purposes and their text versions, through the permission scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from otdel.core.scoping import get_scoped_or_404, scope
from otdel.privacy.models import ConsentPurpose, ConsentText


def _with_current_text(qs: QuerySet[ConsentPurpose]) -> QuerySet[ConsentPurpose]:
    """Load every purpose's text versions, newest first, in one extra query (``purpose.versions``)."""
    return qs.prefetch_related(
        Prefetch("texts", queryset=ConsentText.objects.order_by("-version"), to_attr="versions")
    )


def consent_purpose_list(*, user: Any) -> QuerySet[ConsentPurpose]:
    # No scope rule is registered for purposes: only administrators see them (scope's safe default).
    return _with_current_text(scope(ConsentPurpose.objects.all(), user)).order_by("code")


def consent_purpose_get(*, user: Any, code: str) -> ConsentPurpose:
    return get_scoped_or_404(_with_current_text(ConsentPurpose.objects.all()), user, code=code)


def current_text(purpose: ConsentPurpose) -> ConsentText | None:
    """The newest wording, from the prefetched versions when the selector loaded them."""
    versions = getattr(purpose, "versions", None)
    if versions is not None:
        return versions[0] if versions else None
    return purpose.current_text


def consent_texts_current(purposes: list[ConsentPurpose]) -> dict[int, ConsentText]:
    """The current wording of each purpose in one query: {purpose id: text}."""
    current: dict[int, ConsentText] = {}
    for text in ConsentText.objects.filter(purpose__in=purposes).order_by("purpose_id", "-version"):
        current.setdefault(text.purpose_id, text)
    return current


# --- consents, requests, the access log -----------------------------------------------------------


def contact_for(*, user: Any, pk: int, action: str = "view") -> Any:
    """A contact the user may see (404 otherwise): the crm scope decides."""
    from otdel.crm.models import Contact

    return get_scoped_or_404(Contact.objects.all(), user, action, pk=pk)


def contact_consents(*, contact: Any) -> QuerySet[Any]:
    from otdel.privacy.models import Consent

    return (
        Consent.objects.filter(contact=contact)
        .select_related("purpose", "text", "recorded_by", "withdrawn_by")
        .order_by("purpose__code", "-given_at", "-id")
    )


def consent_proof(consent: Any) -> dict[str, Any]:
    """Everything that proves one consent: the exact wording, its hash, when, from where, how."""
    scan = getattr(consent, "scan", None) if hasattr(consent, "scan") else None
    return {
        "id": consent.pk,
        "contact": consent.contact_id,
        "purpose": consent.purpose.code,
        "purpose_title": consent.purpose.title,
        "text_version": consent.text.version,
        "text": consent.text.text,
        "text_sha256": consent.text.sha256,
        "given_at": consent.given_at.isoformat(),
        "method": consent.method,
        "source": consent.source,
        "form": consent.source if consent.source.startswith("form") else "",
        "ip": consent.ip,
        "user_agent": consent.user_agent,
        "page_url": consent.page_url,
        "interaction": consent.interaction_id,
        "recorded_by": consent.recorded_by.get_full_name() if consent.recorded_by else "",
        "scan": {"filename": scan.filename, "sha256": scan.sha256} if scan else None,
        "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
        "withdrawal_source": consent.withdrawal_source,
    }


def subject_request_list(*, user: Any, status: str = "", overdue: bool = False) -> QuerySet[Any]:
    from django.utils import timezone

    from otdel.privacy.models import SubjectRequest

    qs = scope(SubjectRequest.objects.select_related("contact", "responsible"), user)
    if status:
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.filter(status=SubjectRequest.Status.OPEN, due_at__lt=timezone.localdate())
    return qs.order_by("status", "due_at", "id")


def access_log_list(*, user: Any, contact: int | None = None) -> QuerySet[Any]:
    from otdel.privacy.models import PDAccessLog

    qs = scope(PDAccessLog.objects.select_related("contact"), user)
    if contact is not None:
        qs = qs.filter(contact_id=contact)
    return qs.order_by("-at", "-id")


def _row(obj: Any, fields: list[str]) -> dict[str, Any]:
    from otdel.core.changelog import _jsonable

    return {name: _jsonable(getattr(obj, name)) for name in fields}


def person_data(contact: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Everything Otdel holds about a person (art. 14): the data as JSON and the files (name, FieldFile)."""
    from otdel.comms.models import Attachment, Interaction
    from otdel.privacy.models import ConsentScan, PDAccessLog, SubjectRequest

    files: list[tuple[str, Any]] = []
    interactions = list(Interaction.objects.filter(contact=contact).order_by("occurred_at", "id"))
    data: dict[str, Any] = {
        "contact": _row(contact, ["id", "full_name", "position", "comment", "created_at"]),
        "company": contact.company.name if contact.company_id else None,
        "identities": [_row(i, ["kind", "value", "label", "created_at"]) for i in contact.identities.all()],
        "leads": [
            _row(
                lead,
                [
                    "id",
                    "source",
                    "channel",
                    "status",
                    "comment",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "page_url",
                    "created_at",
                ],
            )
            for lead in contact.leads.all()
        ],
        "deals": [
            _row(d, ["id", "title", "amount", "currency", "created_at", "closed_at"])
            for d in contact.deals.all()
        ],
        "interactions": [
            _row(
                i,
                [
                    "id",
                    "kind",
                    "channel",
                    "direction",
                    "occurred_at",
                    "subject",
                    "body",
                    "caller",
                    "called",
                    "duration",
                    "status",
                ],
            )
            for i in interactions
        ],
        "notes": [_row(n, ["body", "created_at"]) for n in contact.notes.all()],
        "tasks": [_row(t, ["title", "description", "due_at", "done_at"]) for t in contact.tasks.all()],
        "consents": [consent_proof(c) for c in contact_consents(contact=contact)],
        "requests": [
            _row(r, ["id", "kind", "received_at", "due_at", "status", "details", "answer"])
            for r in SubjectRequest.objects.filter(contact=contact)
        ],
        # Who in the operator's staff accessed the data, and when (art. 14 p. 7: persons with access).
        "access": [
            {"at": a.at.isoformat(), "by": a.user_name, "action": a.action}
            for a in PDAccessLog.objects.filter(contact=contact).order_by("at")
        ],
    }
    for i in interactions:
        if i.recording_file:
            files.append((f"recordings/{i.pk}-{i.recording_file.name.rsplit('/', 1)[-1]}", i.recording_file))
    for a in Attachment.objects.filter(interaction__in=interactions):
        files.append((f"attachments/{a.pk}-{a.filename}", a.file))
    for s in ConsentScan.objects.filter(consent__contact=contact):
        files.append((f"consents/{s.consent_id}-{s.filename}", s.file))
    return data, files


def person_zip(contact: Any) -> bytes:
    """The access answer: ``data.json`` and the person's files in one ZIP."""
    import io
    import json
    import zipfile

    data, files = person_data(contact)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for name, fieldfile in files:
            try:
                with fieldfile.open("rb") as fh:
                    archive.writestr(f"files/{name}", fh.read())
            except (FileNotFoundError, OSError):
                continue
    return buffer.getvalue()


def breach_deadlines(incident: Any) -> dict[str, Any]:
    """The two notices of art. 21 p. 3.1: 24 hours and 72 hours from when the breach was found."""
    import datetime

    from django.utils import timezone

    now = timezone.now()
    first = incident.found_at + datetime.timedelta(hours=24)
    second = incident.found_at + datetime.timedelta(hours=72)
    return {
        "notice_24h_due": first,
        "notice_24h_overdue": incident.notice_24h_sent_at is None and now > first,
        "notice_72h_due": second,
        "notice_72h_overdue": incident.notice_72h_sent_at is None and now > second,
    }


def consent_allows(contact: Any, purpose_code: str) -> bool:
    """Whether ``contact`` has a consent of the purpose ``purpose_code`` in force (given and not
    withdrawn): the check before marketing (an automated e-mail, a newsletter) reaches the person."""
    from otdel.privacy.models import Consent

    return Consent.objects.filter(
        contact=contact, purpose__code=purpose_code, withdrawn_at__isnull=True
    ).exists()

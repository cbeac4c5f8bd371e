"""Destruction of a person's data (152-FZ art. 21): erased from every table, file, recording,
e-mail body, attachment and the change log's values; anonymous statistics stay right; an act with
the fields of Roskomnadzor order No. 179 is written, and tombstones keep hashed identities only.

What stays: the contact row renamed to an anonymous label, its leads, deals and interactions with
their kinds, channels, stages, amounts and times (so report counts do not change), and the act.

Apps built later plug their own data in with ``@eraser``: ``def erase(ctx: ErasureContext) -> None``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.core.events import ContactDestroyed, emit
from otdel.core.models import ObjectChange
from otdel.privacy import register as pd
from otdel.privacy.models import (
    Consent,
    ConsentScan,
    DestructionAct,
    DestructionProposal,
    PDAccessLog,
    PrivacySettings,
    SubjectRequest,
    Tombstone,
)

logger = logging.getLogger(__name__)

ERASED = "[уничтожено]"
KEEP_ACT_YEARS = 3


@dataclass
class ErasureContext:
    """What an eraser gets: the contacts being destroyed, the values to hunt for, and a tally."""

    contact_ids: list[int]
    names: list[str]
    identities: list[tuple[str, str]]
    interaction_ids: list[int] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    categories: set[str] = field(default_factory=set)
    tally: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int) -> None:
        if n:
            self.tally[what] = self.tally.get(what, 0) + n

    @property
    def needles(self) -> list[str]:
        """Strings whose presence anywhere means the person is still there."""
        found: list[str] = []
        for kind, value in self.identities:
            found.append(value)
            if kind in ("phone", "whatsapp"):
                digits = re.sub(r"\D", "", value.partition(";")[0])
                found += [digits, digits[1:]] if len(digits) > 10 else [digits]
        found += [n for n in self.names if len(n) >= 4]
        # JSON columns may hold text escaped (\\uXXXX) as json.dumps writes it by default.
        found += [json.dumps(n)[1:-1] for n in found if json.dumps(n)[1:-1] != n]
        return [n for n in dict.fromkeys(found) if n]

    @property
    def phone_tails(self) -> list[str]:
        """The last 10 digits of each phone: matches it in any format a PBX wrote it."""
        return [
            re.sub(r"\D", "", v.partition(";")[0])[-10:]
            for k, v in self.identities
            if k in ("phone", "whatsapp")
        ]


Eraser = Callable[[ErasureContext], None]
_erasers: list[Eraser] = []


def eraser(func: Eraser) -> Eraser:
    """Register an app's eraser; called inside the destruction transaction."""
    if func not in _erasers:
        _erasers.append(func)
    return func


def identity_digest(kind: str, value: str) -> str:
    """Keyed hash of an identity or provider event: cannot be reversed without the secret key."""
    return hmac.new(settings.SECRET_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _text_contains(qs: models.QuerySet[Any], field_name: str, needles: list[str]) -> models.QuerySet[Any]:
    """Rows whose ``field_name`` (any type, cast to text) contains any needle."""
    if not needles:
        return qs.none()
    cond = Q()
    for needle in needles:
        cond |= Q(_as_text__icontains=needle)
    return qs.annotate(_as_text=Cast(field_name, TextField())).filter(cond)


def _not_pd_keys(model: type[models.Model]) -> set[str]:
    entry = pd.register().get(model._meta.label_lower)
    keep = set(pd.COMMON_NOT_PD)
    if entry:
        for name in entry.not_pd:
            keep.add(name)
            f = model._meta.get_field(name)
            keep.add(getattr(f, "attname", name))
    return keep


def _scrub_changes(changes: Any, keep: set[str]) -> Any:
    if not isinstance(changes, dict):
        return {}
    return {k: (v if k in keep else ERASED) for k, v in changes.items()}


# --- the erasers of the apps Otdel ships ---------------------------------------------------------


def _erase_comms(ctx: ErasureContext) -> None:
    from otdel.comms.models import Attachment, IntakeLog, Interaction

    values = [v for _k, v in ctx.identities]
    match = Q(contact_id__in=ctx.contact_ids) | Q(caller__in=values) | Q(called__in=values)
    for tail in ctx.phone_tails:
        match |= Q(caller__endswith=tail) | Q(called__endswith=tail)
    interactions = Interaction.objects.filter(match)
    ctx.interaction_ids = list(interactions.values_list("pk", flat=True))
    # Files first: recordings and attachments go from the storage once the transaction commits.
    for path in interactions.exclude(recording_file="").values_list("recording_file", flat=True):
        ctx.files.append(path)
        ctx.categories.add(pd.VOICE)
    attachments = Attachment.objects.filter(interaction_id__in=ctx.interaction_ids)
    for path in attachments.values_list("file", flat=True):
        ctx.files.append(path)
        ctx.categories.add(pd.FILES)
    ctx.count("comms.Attachment", attachments.delete()[0])
    if interactions.exclude(body="", subject="").exists():
        ctx.categories.add(pd.CORRESPONDENCE)
    # Provider event ids become tombstones: a repeat of the same event makes a new record.
    for pk, provider, external_id in interactions.exclude(external_id="").values_list(
        "pk", "provider", "external_id"
    ):
        digest = identity_digest(f"event:{provider}", external_id)
        Tombstone.objects.get_or_create(digest=digest, defaults={"kind": "event"})
        Interaction.objects.filter(pk=pk).update(external_id=f"erased:{digest[:40]}")
    ctx.count(
        "comms.Interaction",
        Interaction.objects.filter(pk__in=ctx.interaction_ids).update(
            subject="",
            body="",
            summary="",
            caller="",
            called="",
            recording_url="",
            recording_file="",
            message_id="",
            thread_key="",
            payload={},
            identity=None,
        ),
    )
    intake = IntakeLog.objects.filter(interaction_id__in=ctx.interaction_ids)
    ctx.count("comms.IntakeLog", intake.delete()[0])
    leftovers = _text_contains(IntakeLog.objects.all(), "body", ctx.needles).values_list("pk", flat=True)
    ctx.count("comms.IntakeLog", IntakeLog.objects.filter(pk__in=list(leftovers)).delete()[0])


def _erase_crm(ctx: ErasureContext) -> None:
    from otdel.crm.models import Deal, Identity, Lead, Note, Task

    deals = Deal.objects.filter(contact_id__in=ctx.contact_ids)
    ctx.deal_ids = list(deals.values_list("pk", flat=True))
    leads = Lead.objects.filter(contact_id__in=ctx.contact_ids)
    ctx.lead_ids = list(leads.values_list("pk", flat=True))
    notes = Note.objects.filter(Q(contact_id__in=ctx.contact_ids) | Q(deal_id__in=ctx.deal_ids))
    if notes.exists():
        ctx.categories.add(pd.FREE_TEXT)
    ctx.count("crm.Note", notes.delete()[0])
    ctx.count(
        "crm.Task",
        Task.objects.filter(
            Q(contact_id__in=ctx.contact_ids) | Q(deal_id__in=ctx.deal_ids) | Q(lead_id__in=ctx.lead_ids)
        ).update(title=_("Task"), description=""),
    )
    if leads.exclude(utm_source="", page_url="").exists():
        ctx.categories.add(pd.ONLINE)
    ctx.count(
        "crm.Lead",
        leads.update(
            comment="",
            verdict_reason="",
            utm_source="",
            utm_medium="",
            utm_campaign="",
            utm_content="",
            utm_term="",
            page_url="",
            custom={},
        ),
    )
    for deal_id in ctx.deal_ids:
        Deal.objects.filter(pk=deal_id).update(
            title=_("Deal #%(id)s") % {"id": deal_id}, lost_comment="", custom_fields={}, custom={}
        )
    ctx.count("crm.Deal", len(ctx.deal_ids))
    for kind, value in ctx.identities:
        Tombstone.objects.get_or_create(digest=identity_digest(kind, value), defaults={"kind": "identity"})
    ctx.count("crm.Identity", Identity.objects.filter(contact_id__in=ctx.contact_ids).delete()[0])


def _erase_routing_and_notifications(ctx: ErasureContext) -> None:
    from otdel.automation.models import Notification
    from otdel.routing.models import BlockedIdentity, RoutingDecision

    decisions = RoutingDecision.objects.filter(contact_id__in=ctx.contact_ids)
    ctx.count("routing.RoutingDecision", decisions.update(input={}))
    stray = _text_contains(RoutingDecision.objects.all(), "input", ctx.needles).values_list("pk", flat=True)
    ctx.count("routing.RoutingDecision", RoutingDecision.objects.filter(pk__in=list(stray)).update(input={}))
    blocked = Q()
    for kind, value in ctx.identities:
        blocked |= Q(kind=kind, value=value)
    if ctx.identities:
        ctx.count("routing.BlockedIdentity", BlockedIdentity.objects.filter(blocked).delete()[0])
    ctx.count(
        "automation.Notification", Notification.objects.filter(contact_id__in=ctx.contact_ids).delete()[0]
    )


def _erase_privacy(ctx: ErasureContext) -> None:
    consents = Consent.objects.filter(contact_id__in=ctx.contact_ids)
    for path in ConsentScan.objects.filter(consent__in=consents).values_list("file", flat=True):
        ctx.files.append(path)
    ctx.count("privacy.Consent", consents.delete()[0])
    access = PDAccessLog.objects.filter(contact_id__in=ctx.contact_ids)
    ctx.count("privacy.PDAccessLog", access.exclude(query="").update(query=ERASED))
    stray = _text_contains(PDAccessLog.objects.all(), "query", ctx.needles).values_list("pk", flat=True)
    ctx.count("privacy.PDAccessLog", PDAccessLog.objects.filter(pk__in=list(stray)).update(query=ERASED))
    ctx.count(
        "privacy.SubjectRequest",
        SubjectRequest.objects.filter(contact_id__in=ctx.contact_ids).update(
            requester="", details="", answer="", extension_reason=""
        ),
    )


def _erase_change_log(ctx: ErasureContext) -> None:
    """Old and new values of the person's records go; who changed what and when stays."""
    from otdel.comms.models import Interaction
    from otdel.crm.models import Contact, Deal, Lead, Task

    targets: list[tuple[type[models.Model], list[int]]] = [
        (Contact, ctx.contact_ids),
        (Deal, ctx.deal_ids),
        (Lead, ctx.lead_ids),
        (Interaction, ctx.interaction_ids),
    ]
    task_ids = list(
        Task.objects.filter(
            Q(contact_id__in=ctx.contact_ids) | Q(deal_id__in=ctx.deal_ids) | Q(lead_id__in=ctx.lead_ids)
        ).values_list("pk", flat=True)
    )
    targets.append((Task, task_ids))
    targets.append(
        (
            SubjectRequest,
            list(SubjectRequest.objects.filter(contact_id__in=ctx.contact_ids).values_list("pk", flat=True)),
        )
    )
    scrubbed: set[int] = set()
    for model, ids in targets:
        if not ids:
            continue
        keep = _not_pd_keys(model)
        ct = ContentType.objects.get_for_model(model)
        for change in ObjectChange.objects.filter(content_type=ct, object_id__in=ids):
            change.changes = _scrub_changes(change.changes, keep)
            change.object_repr = f"{model._meta.verbose_name} #{change.object_id}"
            ObjectChange.objects.filter(pk=change.pk).update(
                changes=change.changes, object_repr=change.object_repr
            )
            scrubbed.add(change.pk)
    # Anything else in the log that still names the person (a merge message, another record's values).
    for column in ("changes", "object_repr", "message"):
        stray = _text_contains(ObjectChange.objects.exclude(pk__in=scrubbed), column, ctx.needles)
        for change in stray:
            ObjectChange.objects.filter(pk=change.pk).update(
                changes=_scrub_changes(change.changes, set()), object_repr=ERASED, message=""
            )
            scrubbed.add(change.pk)
    ctx.count("core.ObjectChange", len(scrubbed))


def _erase_contacts(ctx: ErasureContext) -> None:
    from otdel.crm.models import Contact

    for pk in ctx.contact_ids:
        Contact.objects.filter(pk=pk).update(
            full_name=_("Destroyed person #%(id)s") % {"id": pk},
            position="",
            comment="",
            search_text="",
            custom={},
        )
    ctx.count("crm.Contact", len(ctx.contact_ids))


BUILTIN: list[Eraser] = [
    _erase_comms,
    _erase_crm,
    _erase_routing_and_notifications,
    _erase_privacy,
]


def _erase_search_index(ctx: ErasureContext) -> None:
    """The search index holds names and numbers: rebuild the person's entries from what is left (the
    anonymous label), and drop the vocabulary words only their name brought (the typo index)."""
    from otdel.crm import search
    from otdel.crm.models import Deal, SearchEntry, SearchWord

    deal_ids = list(Deal.objects.filter(contact_id__in=ctx.contact_ids).values_list("pk", flat=True))
    gone = SearchEntry.objects.filter(
        Q(contact_id__in=ctx.contact_ids)
        | Q(identity__contact_id__in=ctx.contact_ids)
        | Q(deal_id__in=deal_ids)
    ).delete()[0]
    ctx.count("search", gone)
    search.index_contacts(ctx.contact_ids)
    search.index_deals(deal_ids)
    for word in {w for name in ctx.names for w in search.words(search.fold(name))}:
        if not SearchEntry.objects.filter(text__contains=word).exists():
            SearchWord.objects.filter(word=word).delete()


def _collect(contact: Any) -> ErasureContext:
    from otdel.crm.models import Contact, Identity

    # Contacts merged into this one are the same person: their rows keep the old names.
    ids = [contact.pk]
    frontier = [contact.pk]
    while frontier:
        frontier = list(Contact.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in ids]
        ids += frontier
    names = list(Contact.objects.filter(pk__in=ids).values_list("full_name", flat=True))
    identities = list(Identity.objects.filter(contact_id__in=ids).values_list("kind", "value"))
    ctx = ErasureContext(contact_ids=ids, names=names, identities=identities)
    ctx.categories.add(pd.NAME)
    if identities:
        ctx.categories.add(pd.CONTACT_DETAILS)
    if Contact.objects.filter(pk__in=ids).exclude(position="").exists():
        ctx.categories.add(pd.POSITION)
    return ctx


def _next_number(now: datetime.datetime) -> str:
    prefix = f"АУ-{now:%Y}-"
    last = (
        DestructionAct.objects.select_for_update()
        .filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def _event_log(
    ctx: ErasureContext, name: str, categories: list[str], system: str, reason: str, now: Any
) -> list[dict[str, Any]]:
    """The export from the event log order 179 asks for: one line per subject, plus what was erased."""
    return [
        {
            "subject": name,
            "categories": categories,
            "information_system": system,
            "reason": reason,
            "destroyed_at": now.isoformat(),
            "erased": dict(sorted(ctx.tally.items())),
            "files": len(ctx.files),
        }
    ]


@transaction.atomic
def contact_destroy(*, actor: Any, contact: Any, reason: str) -> DestructionAct:
    """Destroy everything Otdel holds about ``contact``; returns the act (with its PDF)."""
    from otdel.crm.models import Contact

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for destruction (it goes into the act).")]})
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.merged_into_id is not None:
        raise ValidationError(
            {"__all__": [_("This contact was merged into another one: destroy that contact instead.")]}
        )
    done = DestructionAct.objects.filter(contact=contact).first()
    if done is not None:
        raise ValidationError(
            {
                "__all__": [
                    _("This person's data was already destroyed (act %(number)s).") % {"number": done.number}
                ]
            }
        )
    if connection.vendor == "sqlite":
        # Deleted rows are overwritten with zeros, not left in free pages of the database file.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    now = timezone.now()
    ctx = _collect(contact)
    subject_name = contact.full_name
    for step in [*BUILTIN, *_erasers]:
        step(ctx)
    _erase_change_log(ctx)
    _erase_contacts(ctx)
    _erase_search_index(ctx)

    conf = PrivacySettings.load()
    categories = [str(pd.CATEGORIES[c]) for c in pd.CATEGORIES if c in ctx.categories]
    system = conf.information_system or "CRM «Otdel»"
    act = DestructionAct.objects.create(
        number=_next_number(now),
        contact=contact,
        operator_name=conf.operator_name,
        operator_address=conf.operator_address,
        processor_name=conf.processor_name,
        subject_name=subject_name,
        destroyed_by=actor if getattr(actor, "pk", None) else None,
        destroyed_by_name=actor.get_full_name() if getattr(actor, "pk", None) else _("Otdel (automatic)"),
        destroyed_by_position=actor.get_role_display() if hasattr(actor, "get_role_display") else "",
        categories=categories,
        information_system=system,
        method=_(
            "Erasure of records from the database of the information system and deletion of files "
            "(call recordings, attachments, scans) from the file storage, without the possibility of "
            "recovery; statistical records kept in anonymous form"
        ),
        reason=reason,
        destroyed_at=now,
        event_log=_event_log(ctx, subject_name, categories, system, reason, now),
        keep_until=(now + datetime.timedelta(days=365 * KEEP_ACT_YEARS + 1)).date(),
    )
    Tombstone.objects.filter(act__isnull=True, created_at__gte=now).update(act=act)
    DestructionProposal.objects.filter(
        contact_id__in=ctx.contact_ids, status=DestructionProposal.Status.PROPOSED
    ).update(
        status=DestructionProposal.Status.CONFIRMED,
        decided_by=actor if getattr(actor, "pk", None) else None,
        decided_at=now,
    )
    from otdel.privacy.pdf import destruction_act_pdf

    act.pdf.save(f"{act.number}.pdf", ContentFile(destruction_act_pdf(act)), save=False)
    DestructionAct.objects.filter(pk=act.pk).update(pdf=act.pdf.name)
    from otdel.core.changelog import record_change

    # The card's history says what happened (no personal data in it: the act number only).
    record_change(
        Contact.objects.get(pk=contact.pk),
        ObjectChange.Action.DELETE,
        changes={"act": act.number},
        message="personal data destroyed",
        user=actor if getattr(actor, "pk", None) else None,
    )
    files = list(dict.fromkeys(f for f in ctx.files if f))
    transaction.on_commit(lambda: _delete_files(files))
    emit(ContactDestroyed(contact_id=contact.pk, act_id=act.pk))
    return act


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except Exception:
            logger.exception("could not delete a destroyed person's file")
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        # Old page images of the erased rows live in the write-ahead log until a checkpoint.
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception:
            logger.exception("WAL checkpoint after destruction failed")


def tombstones_seen(pairs: list[tuple[str, str]]) -> int:
    """Identity resolution made a new contact: count identities that belonged to a destroyed person.

    The new contact starts empty (the old data is gone); the count shows the administrator that a
    destroyed person came back, without linking the two.
    """
    digests = [identity_digest(kind, value) for kind, value in pairs]
    return Tombstone.objects.filter(digest__in=digests, kind="identity").update(
        seen_again=models.F("seen_again") + 1, last_seen_at=timezone.now()
    )

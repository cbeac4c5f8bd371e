"""Writes to the CRM: every change goes through one of these functions (keyword-only, atomic)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Model, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.core.changelog import check_version, record_change
from otdel.core.context import acting_as, current_actor
from otdel.core.events import (
    ContactCreated,
    ContactMerged,
    DealCreated,
    DealLost,
    DealReassigned,
    DealStageEntered,
    DealWon,
    LeadCreated,
    LeadReturnedToTriage,
    LeadTriaged,
    NoteCreated,
    TaskCompleted,
    TaskCreated,
    emit,
)
from otdel.core.exceptions import ConflictError, field_error
from otdel.core.identity import normalize_identity
from otdel.core.models import ChangeLoggedModel, ObjectChange
from otdel.core.scoping import scope
from otdel.crm.models import (
    Company,
    Contact,
    Deal,
    Identity,
    Lead,
    LostReason,
    Note,
    Pipeline,
    Stage,
    Task,
)
from otdel.crm.signals import contact_merged
from otdel.kb.gate import stage_exit_check

if TYPE_CHECKING:  # a string foreign key at run time: comms builds on crm
    from otdel.comms.models import Interaction

# --- helpers ---------------------------------------------------------------------------------


def _save(instance: Model, *, exclude: Iterable[str] = ()) -> None:
    """Validate and save; an update writes only the fields that changed since the row was loaded.

    So two edits of different fields of one record (two API PATCHes without ``version``, a form and
    a PATCH) both survive: neither writes the other's field back with the value it read. The
    version still grows by one per save, in the database (``F("version") + 1``), so a client that
    sends the version it read still gets its 409.
    """
    instance.full_clean(exclude=list(exclude), validate_unique=False)
    loaded = getattr(instance, "_loaded_values", None)
    if instance._state.adding or loaded is None or not isinstance(instance, ChangeLoggedModel):
        instance.save()
        return
    current = instance.changelog_snapshot(skip=instance.get_deferred_fields())
    # Nothing of the row may have changed (an edit of identities only): the version still grows.
    changed = [name for name, value in current.items() if name not in loaded or loaded[name] != value]
    names = {f.name for f in instance._meta.concrete_fields}
    derived = [name for name in ("search_text", "updated_at") if name in names]
    instance.save(update_fields=[*changed, *derived])
    manager = type(instance)._default_manager
    manager.filter(pk=instance.pk).update(version=F("version") + 1)
    instance.version = manager.filter(pk=instance.pk).values_list("version", flat=True).get()
    instance._loaded_values = {**getattr(instance, "_loaded_values", {}), "version": instance.version}


def _set_fields(instance: Model, fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    for name, value in fields.items():
        setattr(instance, name, value)


def _owned_by_default(actor: User | None, fields: dict[str, Any]) -> None:
    """A salesperson's new record without a responsible is theirs, else it would vanish from their
    own view the moment it is made (the scope shows sales managers only their records)."""
    if fields.get("responsible") is None and getattr(actor, "is_sales", False):
        fields["responsible"] = actor


def _parse_amount(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation as exc:
        raise field_error("amount", _("Enter a number."), "invalid") from exc
    if amount < 0:
        raise field_error("amount", _("The amount cannot be negative."), "negative")
    return amount


# --- companies -------------------------------------------------------------------------------

COMPANY_FIELDS = {
    "name",
    "inn",
    "website",
    "address",
    "industry",
    "responsible",
    "comment",
    *Company.REQUISITES,
}


@transaction.atomic
def company_create(*, actor: User | None, name: str, **fields: Any) -> Company:
    with acting_as(actor):
        _owned_by_default(actor, fields)
        company = Company(name=(name or "").strip())
        _set_fields(company, fields, COMPANY_FIELDS)
        _save(company)
        return company


@transaction.atomic
def company_update(
    *, actor: User | None, company: Company, expected_version: int | None = None, **fields: Any
) -> Company:
    with acting_as(actor):
        check_version(company, expected_version)
        _set_fields(company, fields, COMPANY_FIELDS)
        _save(company)
        return company


# --- contacts and identities -----------------------------------------------------------------

CONTACT_FIELDS = {"full_name", "company", "position", "responsible", "comment"}


def _normalize_identities(identities: Iterable[dict[str, str] | tuple[str, str]]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    errors: list[str] = []
    for item in identities:
        kind, raw = (item["kind"], item["value"]) if isinstance(item, dict) else item
        if raw in (None, ""):
            continue
        try:
            pair = (kind, normalize_identity(kind, raw))
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if pair not in result:
            result.append(pair)
    if errors:
        raise ValidationError({"identities": errors})
    return result


def _attach_identities(contact: Contact, pairs: list[tuple[str, str]]) -> None:
    for kind, value in pairs:
        holder = Identity.objects.filter(kind=kind, value=value).select_related("contact").first()
        if holder is not None:
            if holder.contact_id == contact.pk:
                continue
            actor = current_actor()
            if actor is not None and not scope(Contact.objects.filter(pk=holder.contact_id), actor).exists():
                # Naming a contact the caller may not see would leak who the client is.
                raise ConflictError(
                    _(
                        "%(value)s is held by another contact you cannot see; "
                        "ask the head of sales to sort it out."
                    )
                    % {"value": holder.display_value},
                    code="identity_taken",
                    field="identities",
                )
            raise ConflictError(
                _("%(value)s already belongs to contact “%(contact)s” (#%(id)s).")
                % {"value": holder.display_value, "contact": holder.contact, "id": holder.contact_id},
                code="identity_taken",
                field="identities",
            )
        is_primary = not contact.identities.filter(kind=kind).exists()
        try:
            with transaction.atomic():
                Identity.objects.create(contact=contact, kind=kind, value=value, is_primary=is_primary)
        except IntegrityError as exc:  # another request took it a moment ago
            raise ConflictError(
                _("%(value)s already belongs to another contact.") % {"value": value},
                code="identity_taken",
                field="identities",
            ) from exc


@transaction.atomic
def contact_create(
    *,
    actor: User | None,
    full_name: str,
    identities: Iterable[dict[str, str] | tuple[str, str]] = (),
    **fields: Any,
) -> Contact:
    with acting_as(actor):
        pairs = _normalize_identities(identities)
        _owned_by_default(actor, fields)
        contact = Contact(full_name=(full_name or "").strip())
        _set_fields(contact, fields, CONTACT_FIELDS)
        _save(contact)
        _attach_identities(contact, pairs)
        emit(ContactCreated(contact_id=contact.pk))
        return contact


@transaction.atomic
def contact_update(
    *,
    actor: User | None,
    contact: Contact,
    expected_version: int | None = None,
    identities: Iterable[dict[str, str] | tuple[str, str]] | None = None,
    **fields: Any,
) -> Contact:
    """Update fields; when ``identities`` is given it becomes the full list (others removed)."""
    with acting_as(actor):
        check_version(contact, expected_version)
        _set_fields(contact, fields, CONTACT_FIELDS)
        _save(contact)
        if identities is not None:
            pairs = _normalize_identities(identities)
            _attach_identities(contact, pairs)
            stale = [i for i in contact.identities.all() if (i.kind, i.value) not in pairs]
            for identity in stale:
                record_change(
                    contact,
                    ObjectChange.Action.UPDATE,
                    changes={"identity_removed": [identity.value, None]},
                )
                identity.delete()
        return contact


@transaction.atomic
def identity_add(*, actor: User | None, contact: Contact, kind: str, value: str) -> Identity:
    with acting_as(actor):
        (pair,) = _normalize_identities([(kind, value)]) or [(kind, "")]
        _attach_identities(contact, [pair])
        record_change(contact, ObjectChange.Action.UPDATE, changes={"identity_added": [None, pair[1]]})
        return Identity.objects.get(kind=pair[0], value=pair[1])


def identities_remember(*, contact: Contact, pairs: Iterable[tuple[str, str]]) -> None:
    """Keep every new (already normalized) way this person reached us that nobody else holds.

    The inbound path calls it: unlike ``identity_add`` a number held by someone else is skipped, not
    refused, and a concurrent insert of the same identity surfaces as IntegrityError for the caller's
    retry.
    """
    for kind, value in pairs:
        if not Identity.objects.filter(kind=kind, value=value).exists():
            with transaction.atomic():
                Identity.objects.create(
                    contact=contact,
                    kind=kind,
                    value=value,
                    is_primary=not contact.identities.filter(kind=kind).exists(),
                )


@transaction.atomic
def contact_set_non_target(*, actor: User | None, contact: Contact, reason: str) -> Contact:
    """Write the non-target mark (routing decides when and does the rest: ``routing.nontarget``)."""
    with acting_as(actor):
        contact.non_target, contact.non_target_reason = True, reason
        contact.save()
    return contact


@transaction.atomic
def contact_clear_non_target(*, actor: User | None, contact: Contact) -> Contact:
    """Remove the non-target mark, with one change-log row that says so."""
    reason = contact.non_target_reason
    # A queryset update plus one explicit change-log row: the row carries the message, and the
    # automatic save() row would only repeat the diff without it.
    Contact.objects.filter(pk=contact.pk).update(
        non_target=False, non_target_reason="", version=F("version") + 1, updated_at=timezone.now()
    )
    contact = Contact.objects.select_related("company", "responsible").get(pk=contact.pk)
    record_change(
        contact,
        ObjectChange.Action.UPDATE,
        changes={"non_target": [True, False], "non_target_reason": [reason, ""]},
        message=_("Marked as a target client again."),
        user=actor,
    )
    return contact


@transaction.atomic
def contact_merge(*, actor: User | None, source: Contact, target: Contact) -> Contact:
    """Merge ``source`` into ``target``: identities, leads, deals and notes move; nothing is lost.

    The source row stays as a tombstone pointing to the target, so old links still resolve.
    """
    if source.pk == target.pk:
        raise field_error("target", _("A contact cannot be merged into itself."), "merge_self")
    if source.merged_into_id or target.merged_into_id:
        raise field_error("target", _("This contact has already been merged."), "already_merged")
    with acting_as(actor):
        moved = {
            "identities": list(source.identities.values_list("value", flat=True)),
            "leads": list(source.leads.values_list("pk", flat=True)),
            "deals": list(source.deals.values_list("pk", flat=True)),
            "notes": list(source.notes.values_list("pk", flat=True)),
        }
        source.identities.update(contact=target, is_primary=False)
        # Everything else that points at the source (leads, deals, notes, tasks, interactions,
        # consents, whatever later apps add) moves too, so the survivor's timeline is complete.
        for relation in Contact._meta.related_objects:
            if not relation.one_to_many or relation.related_model in (Identity, Contact):
                continue
            model: Any = relation.related_model
            model._default_manager.filter(**{relation.field.name: source}).update(
                **{relation.field.name: target}
            )
        # Fill target's empty fields from the source, never overwrite what the target has.
        for name in ("company", "position", "responsible"):
            if getattr(target, name) in (None, "") and getattr(source, name) not in (None, ""):
                setattr(target, name, getattr(source, name))
        if source.comment:
            target.comment = "\n\n".join(filter(None, [target.comment, source.comment]))
        target.save()
        source.merged_into = target
        source.save()
        record_change(
            target,
            ObjectChange.Action.MERGE,
            changes={"merged_contact": source.pk, "merged_name": source.full_name, **moved},
            message=_("Merged contact #%(id)s “%(name)s” into this one.")
            % {"id": source.pk, "name": source.full_name},
        )
        # In this transaction: routing takes a non-target survivor's waiting work away from sales.
        contact_merged.send(sender=Contact, source=source, target=target)
        emit(ContactMerged(source_id=source.pk, target_id=target.pk))
        return target


# --- notes -----------------------------------------------------------------------------------


@transaction.atomic
def note_create(
    *,
    actor: User | None,
    body: str,
    contact: Contact | None = None,
    company: Company | None = None,
    deal: Deal | None = None,
) -> Note:
    body = (body or "").strip()
    if not body:
        raise field_error("body", _("Write the note first."), "required")
    if contact is None and deal is not None:
        contact = deal.contact
    note = Note.objects.create(author=actor, body=body, contact=contact, company=company, deal=deal)
    emit(NoteCreated(note_id=note.pk))
    return note


# --- deals -----------------------------------------------------------------------------------

DEAL_FIELDS = {
    "title",
    "contact",
    "company",
    "responsible",
    "amount",
    "currency",
    "expected_close",
    "custom_fields",
}


def _validate_stage(pipeline: Pipeline, stage: Stage) -> None:
    if stage.pipeline_id != pipeline.pk:
        raise field_error(
            "stage",
            _("Stage “%(stage)s” belongs to another pipeline.") % {"stage": stage},
            "stage_pipeline_mismatch",
        )


def _validate_lost(stage: Stage, lost_reason: LostReason | None) -> None:
    if stage.kind == Stage.Kind.LOST and lost_reason is None:
        raise field_error("lost_reason", _("Choose why the deal was lost."), "lost_reason_required")


def _top_position(stage: Stage) -> float:
    lowest = Deal.objects.filter(stage=stage).order_by("position").values_list("position", flat=True).first()
    return (lowest if lowest is not None else 1.0) - 1.0


@transaction.atomic
def deal_create(
    *,
    actor: User | None,
    title: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    lost_reason: LostReason | None = None,
    **fields: Any,
) -> Deal:
    with acting_as(actor):
        if pipeline is None:
            pipeline = stage.pipeline if stage else Pipeline.objects.filter(is_default=True).first()
            pipeline = pipeline or Pipeline.objects.first()
        if pipeline is None:
            raise field_error("pipeline", _("Create a pipeline first."), "no_pipeline")
        if stage is None:
            stage = pipeline.stages.filter(kind=Stage.Kind.OPEN).first()
            if stage is None:
                raise field_error("stage", _("The pipeline has no open stages."), "no_stage")
        _validate_stage(pipeline, stage)
        _validate_lost(stage, lost_reason)
        if "amount" in fields:
            fields["amount"] = _parse_amount(fields["amount"])
        if fields.get("company") is None and fields.get("contact") is not None:
            fields["company"] = fields["contact"].company
        if fields.get("responsible") is None and getattr(actor, "is_sales", False):
            fields["responsible"] = actor
        deal = Deal(title=(title or "").strip(), pipeline=pipeline, stage=stage, lost_reason=lost_reason)
        _set_fields(deal, fields, DEAL_FIELDS)
        deal.position = _top_position(stage)
        if stage.is_terminal:
            deal.closed_at = timezone.now()
        _save(deal)
        emit(DealCreated(deal_id=deal.pk, actor_id=getattr(actor, "pk", None)))
        return deal


@transaction.atomic
def deal_update(
    *, actor: User | None, deal: Deal, expected_version: int | None = None, **fields: Any
) -> Deal:
    with acting_as(actor):
        check_version(deal, expected_version)
        if "amount" in fields:
            fields["amount"] = _parse_amount(fields["amount"])
            _amount_follows_items(deal, fields["amount"])
        stage = fields.pop("stage", None)
        lost_reason = fields.pop("lost_reason", deal.lost_reason)
        lost_comment = fields.pop("lost_comment", deal.lost_comment)
        previous_responsible = deal.responsible_id
        _set_fields(deal, fields, DEAL_FIELDS)
        if stage is not None and stage.pk != deal.stage_id:
            _validate_stage(deal.pipeline, stage)
            _validate_lost(stage, lost_reason)
            _apply_stage(deal, stage, lost_reason, lost_comment)
        else:
            deal.lost_reason, deal.lost_comment = lost_reason, lost_comment
        _save(deal)
        if deal.responsible_id is not None and deal.responsible_id != previous_responsible:
            emit(DealReassigned(deal_id=deal.pk, actor_id=getattr(actor, "pk", None)))
        return deal


def _amount_follows_items(deal: Deal, amount: Decimal) -> None:
    """A deal with line items (documents) has their gross total as its amount: another amount -> 409."""
    if deal.pk is None or amount == deal.amount:
        return
    from otdel.crm.templatetags.crm_tags import money_text

    total = deal.items.aggregate(total=Sum("total"))["total"]  # type: ignore[attr-defined]
    if total is not None and amount != total:
        raise ConflictError(
            _(
                "The deal has line items, so its amount is their total (%(total)s). "
                "Change the line items instead."
            )
            % {"total": money_text(total, deal.currency)},
            code="amount_follows_items",
            field="amount",
        )


def _apply_stage(deal: Deal, stage: Stage, lost_reason: LostReason | None, lost_comment: str) -> None:
    stage_exit_check(deal=deal, to_stage=stage)  # required checklist items undone (kb) -> 409
    deal.stage = stage
    if stage.kind == Stage.Kind.LOST:
        deal.lost_reason, deal.lost_comment = lost_reason, lost_comment or ""
    else:
        deal.lost_reason, deal.lost_comment = None, ""
    deal.closed_at = timezone.now() if stage.is_terminal else None


@transaction.atomic
def deal_move(
    *,
    actor: User | None,
    deal: Deal,
    stage: Stage,
    lost_reason: LostReason | None = None,
    lost_comment: str = "",
    before: Deal | None = None,
    expected_version: int | None = None,
) -> Deal:
    """Move a deal to ``stage`` (kanban drag or the API), optionally placing it above ``before``."""
    with acting_as(actor):
        check_version(deal, expected_version)
        _validate_stage(deal.pipeline, stage)
        old_stage = deal.stage
        if stage.pk != old_stage.pk:
            _validate_lost(stage, lost_reason)
            _apply_stage(deal, stage, lost_reason, lost_comment)
        if before is not None and before.stage_id == stage.pk and before.pk != deal.pk:
            above = (
                Deal.objects.filter(stage=stage, position__lt=before.position)
                .exclude(pk=deal.pk)
                .aggregate(m=Max("position"))["m"]
            )
            deal.position = (before.position + above) / 2 if above is not None else before.position - 1.0
        elif stage.pk != old_stage.pk:
            deal.position = _top_position(stage)
        deal.save()
        if stage.pk != old_stage.pk:
            actor_id = getattr(actor, "pk", None)
            emit(
                DealStageEntered(
                    deal_id=deal.pk, from_stage=old_stage.pk, to_stage=stage.pk, actor_id=actor_id
                )
            )
            if stage.kind == Stage.Kind.WON:
                emit(DealWon(deal_id=deal.pk, actor_id=actor_id))
            elif stage.kind == Stage.Kind.LOST:
                emit(DealLost(deal_id=deal.pk, actor_id=actor_id))
        return deal


# --- leads -----------------------------------------------------------------------------------

LEAD_FIELDS = {
    "comment",
    "responsible",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "page_url",
    "status",
}


@transaction.atomic
def lead_create(*, actor: User | None, contact: Contact, source: str, channel: str, **fields: Any) -> Lead:
    """A new inquiry from ``contact``. Its responsible defaults to the contact's; a salesperson given
    the lead of an unowned contact becomes that person's owner, so their next call, e-mail or message
    goes to them (routing's "contact's responsible"), not round the queue again."""
    with acting_as(actor):
        lead = Lead(contact=contact, source=source, channel=channel)
        _set_fields(lead, fields, LEAD_FIELDS)
        if lead.responsible is None:
            lead.responsible = contact.responsible
        _save(lead, exclude=["contact", "responsible", "deal", "duplicate_of", "triaged_by"])
        owner = lead.responsible
        if contact.responsible_id is None and owner is not None and owner.is_sales:
            contact.responsible = owner
            contact.save(update_fields=["responsible", "version", "updated_at"])
        emit(LeadCreated(lead_id=lead.pk, actor_id=getattr(actor, "pk", None)))
        return lead


@transaction.atomic
def lead_reopen(*, actor: User | None, lead: Lead) -> Lead:
    """A closed lead back to new (the "reopen" repeat rule, or a verdict undone)."""
    with acting_as(actor):
        lead.status, lead.verdict, lead.verdict_reason = Lead.Status.NEW, "", ""
        lead.triaged_by, lead.triaged_at = None, None
        lead.save()
    return lead


@transaction.atomic
def lead_set_verdict(
    *,
    actor: User | None,
    lead: Lead,
    verdict: str,
    reason: str = "",
    status: str = Lead.Status.CLOSED,
    responsible: User | None = None,
    deal: Deal | None = None,
    duplicate_of: Contact | None = None,
    announce: bool = True,
) -> Lead:
    """Write a triage verdict on a lead: fields, the TRIAGE change-log row and ``lead.triaged``.

    The triage workflow itself (what each verdict does to deals, contacts and routing) is
    ``routing.triage.lead_triage``; ``announce=False`` writes a verdict that follows from another
    (leads closed along with their non-target contact) without a change-log row or event.
    """
    with acting_as(actor):
        lead.verdict, lead.verdict_reason = verdict, reason
        lead.triaged_by = actor if getattr(actor, "pk", None) else None
        lead.triaged_at = timezone.now()
        lead.status = status
        if responsible is not None:
            lead.responsible = responsible
        if deal is not None:
            lead.deal = deal
        if duplicate_of is not None:
            lead.duplicate_of, lead.contact = duplicate_of, duplicate_of
        lead.save()
        if announce:
            record_change(
                lead, ObjectChange.Action.TRIAGE, changes={"verdict": verdict, "reason": lead.verdict_reason}
            )
            emit(LeadTriaged(lead_id=lead.pk, verdict=verdict, actor_id=getattr(actor, "pk", None)))
    return lead


@transaction.atomic
def lead_return_to_triage(*, actor: User | None, lead: Lead) -> Lead:
    """A lead closed by a verdict that was overruled goes back to triage as a new one."""
    lead_reopen(actor=actor, lead=lead)
    emit(LeadReturnedToTriage(lead_id=lead.pk))
    return lead


@transaction.atomic
def deal_move_below(*, actor: User | None, deal: Deal, stage: Stage, after: Deal, **options: Any) -> Deal:
    """Kanban drop right under ``after`` (say, at a column's bottom); ``deal_move`` knows only "above"."""
    if after.stage_id != stage.pk or after.pk == deal.pk:
        return deal_move(actor=actor, deal=deal, stage=stage, **options)
    below = (
        Deal.objects.filter(stage=stage, position__gt=after.position)
        .exclude(pk=deal.pk)
        .order_by("position", "-id")
        .first()
    )
    if below is not None:
        return deal_move(actor=actor, deal=deal, stage=stage, before=below, **options)
    deal = deal_move(actor=actor, deal=deal, stage=stage, **options)
    # The new last card of the column: its place is an ordering detail, kept out of the change log.
    deal.position = after.position + 1.0
    Deal.objects.filter(pk=deal.pk).update(position=deal.position)
    return deal


TASK_FIELDS = {"title", "description", "assignee", "due_at", "contact", "deal", "lead"}


# --- pipelines, lost reasons ----------------------------------------------------------------


def _name_taken(queryset: Any, name: str) -> bool:
    """Case-insensitive in Python: SQLite's iexact folds only ASCII, and these names are Russian."""
    wanted = name.casefold()
    return any(taken.casefold() == wanted for taken in queryset.values_list("name", flat=True))


@transaction.atomic
def pipeline_create(
    *,
    actor: User | None,
    name: str,
    stages: Iterable[dict[str, Any]],
    order: int | None = None,
    is_default: bool = False,
) -> Pipeline:
    """A pipeline with its stages in board order (``{"name", "kind", "probability", "color"}`` each)."""
    name = (name or "").strip()
    if name and _name_taken(Pipeline.objects.all(), name):
        raise ConflictError(
            _("A pipeline named “%(name)s” already exists.") % {"name": name}, code="name_taken", field="name"
        )
    stages = list(stages)
    errors: list[str] = []
    seen: set[str] = set()
    for item in stages:
        stage_name = (item.get("name") or "").strip()
        if not stage_name:
            errors.append(_("Every stage needs a name."))
        elif stage_name.lower() in seen:
            errors.append(_("Stage “%(name)s” is listed twice.") % {"name": stage_name})
        seen.add(stage_name.lower())
        if item.get("kind", Stage.Kind.OPEN) not in Stage.Kind.values:
            errors.append(_("Unknown stage kind “%(kind)s”.") % {"kind": item.get("kind")})
    if not any(item.get("kind", Stage.Kind.OPEN) == Stage.Kind.OPEN for item in stages):
        errors.append(_("A pipeline needs at least one stage in progress, where new deals start."))
    if errors:
        raise ValidationError({"stages": errors})
    if order is None:
        order = (Pipeline.objects.aggregate(m=Max("order"))["m"] or 0) + 1
    pipeline = Pipeline(name=name, order=order, is_default=is_default)
    pipeline.full_clean(validate_unique=False)
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline.save()
    for position, item in enumerate(stages):
        stage = Stage(
            pipeline=pipeline,
            name=item["name"].strip(),
            order=position,
            kind=item.get("kind", Stage.Kind.OPEN),
            probability=item.get("probability", 0),
            color=item.get("color", ""),
        )
        stage.full_clean(validate_unique=False)
        stage.save()
    record_change(
        pipeline,
        ObjectChange.Action.CREATE,
        changes={"name": name, "is_default": is_default, "stages": [s["name"].strip() for s in stages]},
        user=actor,
    )
    return pipeline


@transaction.atomic
def lost_reason_create(*, actor: User | None, name: str, order: int | None = None) -> LostReason:
    name = (name or "").strip()
    if name and _name_taken(LostReason.objects.all(), name):
        raise ConflictError(
            _("The lost reason “%(name)s” already exists.") % {"name": name}, code="name_taken", field="name"
        )
    if order is None:
        order = (LostReason.objects.aggregate(m=Max("order"))["m"] or 0) + 1
    reason = LostReason(name=name, order=order)
    reason.full_clean(validate_unique=False)
    reason.save()
    record_change(reason, ObjectChange.Action.CREATE, changes={"name": name}, user=actor)
    return reason


# --- tasks -----------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: User | None,
    title: str,
    contact: Contact | None = None,
    deal: Deal | None = None,
    lead: Lead | None = None,
    interaction: Interaction | None = None,
    assignee: User | None = None,
    due_at: datetime.datetime | None = None,
    kind: str = Task.Kind.TODO,
    description: str = "",
) -> Task:
    """A to-do for a person: by hand on a card (the actor's own unless given to someone else), by a
    rule, or by the system (a missed call's call-back: one per call however often it is reported)."""
    title = (title or "").strip()
    if not title:
        raise field_error("title", _("Write what needs to be done."), "required")
    if contact is None and deal is not None:
        contact = deal.contact
    if contact is None and deal is None and lead is None and interaction is None:
        raise field_error("contact", _("A task belongs to a contact, a deal or a lead."), "required")
    if kind == Task.Kind.CALL_BACK and interaction is not None:
        existing = Task.objects.filter(interaction=interaction, kind=kind).first()
        if existing is not None:
            return existing
    if assignee is None and getattr(actor, "pk", None):
        assignee = actor
    task = Task(
        kind=kind,
        title=title,
        description=(description or "").strip(),
        assignee=assignee,
        due_at=due_at,
        contact=contact,
        deal=deal,
        lead=lead,
        interaction=interaction,
    )
    with acting_as(actor):
        _save(task, exclude=["contact", "deal", "lead", "assignee", "interaction"])
    emit(TaskCreated(task_id=task.pk, actor_id=getattr(actor, "pk", None)))
    return task


@transaction.atomic
def task_update(*, actor: User | None, task: Task, **fields: Any) -> Task:
    _set_fields(task, fields, TASK_FIELDS)
    with acting_as(actor):
        _save(task, exclude=["contact", "deal", "lead", "assignee", "interaction"])
    return task


def task_reassign(*, tasks: QuerySet[Task], assignee: User) -> int:
    """Give open tasks to someone else (the call-backs of traffic routed elsewhere); returns how many."""
    return tasks.filter(done_at__isnull=True).update(assignee=assignee, updated_at=timezone.now())


@transaction.atomic
def task_complete(*, actor: User | None, task: Task) -> Task:
    """Mark a task done (once: completing a done task changes nothing)."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.done_at is not None:
        return task
    task.done_at = timezone.now()
    with acting_as(actor):
        task.save()
    emit(TaskCompleted(task_id=task.pk, actor_id=getattr(actor, "pk", None)))
    return task

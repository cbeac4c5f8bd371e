"""Writes to the CRM: every change goes through one of these functions (keyword-only, atomic)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Model, ProtectedError, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.core.bulk import bulk_insert
from otdel.core.changelog import _jsonable, change_row, check_version, record_change
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
from otdel.crm.custom import custom_apply
from otdel.crm.models import (
    Company,
    Contact,
    CustomField,
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
def company_create(
    *, actor: User | None, name: str, custom: Mapping[str, Any] | None = None, **fields: Any
) -> Company:
    with acting_as(actor):
        _owned_by_default(actor, fields)
        company = Company(name=(name or "").strip())
        _set_fields(company, fields, COMPANY_FIELDS)
        custom_apply(company, custom, creating=True)
        _save(company)
        return company


@transaction.atomic
def company_update(
    *,
    actor: User | None,
    company: Company,
    expected_version: int | None = None,
    custom: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Company:
    with acting_as(actor):
        check_version(company, expected_version)
        _set_fields(company, fields, COMPANY_FIELDS)
        custom_apply(company, custom, creating=False)
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
            raise _taken(holder)
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
    custom: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Contact:
    with acting_as(actor):
        pairs = _normalize_identities(identities)
        _owned_by_default(actor, fields)
        contact = Contact(full_name=(full_name or "").strip())
        _set_fields(contact, fields, CONTACT_FIELDS)
        custom_apply(contact, custom, creating=True)
        _save(contact)
        _attach_identities(contact, pairs)
        emit(ContactCreated(contact_id=contact.pk))
        return contact


def _holders_of(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Identity]:
    """The identities already in the database among ``pairs``: one query per kind."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, set()).add(value)
    found: dict[tuple[str, str], Identity] = {}
    for kind, values in by_kind.items():
        listed = sorted(values)
        for start in range(0, len(listed), 500):
            for identity in Identity.objects.filter(kind=kind, value__in=listed[start : start + 500]):
                found[(identity.kind, identity.value)] = identity
    return found


def _taken(holder: Identity) -> ConflictError:
    actor = current_actor()
    if actor is not None and not scope(Contact.objects.filter(pk=holder.contact_id), actor).exists():
        return ConflictError(
            _("%(value)s is held by another contact you cannot see; ask the head of sales to sort it out.")
            % {"value": holder.display_value},
            code="identity_taken",
            field="identities",
        )
    return ConflictError(
        _("%(value)s already belongs to contact “%(contact)s” (#%(id)s).")
        % {"value": holder.display_value, "contact": holder.contact, "id": holder.contact_id},
        code="identity_taken",
        field="identities",
    )


def contacts_create_batch(
    *, actor: User | None, items: Iterable[dict[str, Any]]
) -> list[Contact | ValidationError | ConflictError]:
    """Create many contacts at once: what ``contact_create`` does for each, in a few statements.

    Each item holds ``contact_create``'s arguments (``full_name``, ``identities``, the contact's
    fields). The answer lists, item by item, the new contact or the error that kept it out (a bad
    field, or an identity that already belongs to someone: in the database or to an earlier item
    of the batch); nothing of a refused item is written. The rules are ``contact_create``'s: one
    person, one contact (identities unique), a salesperson's contact is theirs; the change log
    gets a create row per contact, the search index the contacts and their phones, and
    ``ContactCreated`` is emitted per contact after commit.
    """
    from otdel.crm import search  # search indexes what this module writes; import late

    items = list(items)
    results: list[Contact | ValidationError | ConflictError] = []
    prepared: list[tuple[int, Contact, list[tuple[str, str]]]] = []
    with acting_as(actor):
        for item in items:
            fields = dict(item)
            full_name = fields.pop("full_name", "")
            try:
                pairs = _normalize_identities(fields.pop("identities", ()))
                _owned_by_default(actor, fields)
                contact = Contact(full_name=(full_name or "").strip())
                _set_fields(contact, fields, CONTACT_FIELDS)
                # Foreign keys given as loaded rows exist: skip full_clean's query for each.
                loaded = [name for name in ("company", "responsible") if isinstance(fields.get(name), Model)]
                contact.full_clean(exclude=loaded, validate_unique=False)
            except (ValidationError, ConflictError) as exc:
                results.append(exc)
                continue
            results.append(contact)
            prepared.append((len(results) - 1, contact, pairs))
        with transaction.atomic():
            holders = _holders_of(pair for _n, _c, pairs in prepared for pair in pairs)
            claimed: dict[tuple[str, str], Contact] = {}
            accepted: list[tuple[Contact, list[tuple[str, str]]]] = []
            for position, contact, pairs in prepared:
                taken = next((holders[p] for p in pairs if p in holders), None)
                twin = next((claimed[p] for p in pairs if p in claimed), None)
                if taken is not None:
                    results[position] = _taken(taken)
                elif twin is not None:
                    results[position] = ConflictError(
                        _("%(value)s is given twice in this batch (“%(contact)s”).")
                        % {"value": next(p[1] for p in pairs if p in claimed), "contact": twin.full_name},
                        code="identity_taken",
                        field="identities",
                    )
                else:
                    claimed.update(dict.fromkeys(pairs, contact))
                    accepted.append((contact, pairs))
            if accepted:
                identities = _write_contacts(accepted)
                search.index_new_contacts([c for c, _p in accepted], identities)
                for contact, _pairs in accepted:
                    emit(ContactCreated(contact_id=contact.pk))
    return results


def _write_contacts(accepted: list[tuple[Contact, list[tuple[str, str]]]]) -> list[Identity]:
    """INSERT the contacts, their identities (the first of each kind primary) and change-log rows."""
    for contact, _pairs in accepted:
        contact.fill_search_text()
    try:
        with transaction.atomic():  # an identity another request took meanwhile: IntegrityError
            bulk_insert(Contact, [c for c, _p in accepted])
            identities = []
            for contact, pairs in accepted:
                kinds: set[str] = set()
                for kind, value in pairs:
                    identities.append(
                        Identity(contact=contact, kind=kind, value=value, is_primary=kind not in kinds)
                    )
                    kinds.add(kind)
            bulk_insert(Identity, identities)
    except IntegrityError as exc:
        for contact, _pairs in accepted:
            contact.pk = None
            contact._state.adding = True
        raise ConflictError(
            _("A phone or e-mail of this batch was taken by another contact meanwhile; try again."),
            code="identity_taken",
            field="identities",
        ) from exc
    rows = []
    for contact, _pairs in accepted:
        contact._state.adding = False
        snapshot = contact.changelog_snapshot()
        rows.append(change_row(contact, ObjectChange.Action.CREATE, changes=snapshot))
        contact._loaded_values = {**snapshot, "version": contact.version}
    bulk_insert(ObjectChange, rows, ids=False)
    return identities


def contacts_update_batch(
    *, actor: User | None, items: Iterable[dict[str, Any]]
) -> list[list[ObjectChange] | ValidationError | ConflictError]:
    """Change many existing contacts at once: ``contact_update`` (fields) and ``identity_add``
    (phones, e-mails) for each item, in a few statements.

    Each item holds ``contact`` (a loaded row), ``fields`` (``contact_update``'s fields) and
    ``identities`` (pairs to add). Items apply in order, so two items of one contact see each
    other (pass the same object for one contact). The answer lists, item by item, the change-log
    rows written for it (the fields' ``update`` row, then an ``identity_added`` row per identity;
    what an import needs to undo it) or the error that kept it out (a bad field, an identity that
    belongs to another contact); nothing of a refused item is written and its contact object is
    left as it was. The rules are ``contact_update``'s and ``identity_add``'s: the version grows by
    one per item that changes fields, only the fields that changed are written, an identity is
    one person's (the first of its kind primary), the search index follows. An identity taken by
    another writer between the check and the INSERT refuses the whole batch (``ConflictError``,
    nothing written; the contacts passed may hold the batch's values: read them again).
    """
    from otdel.crm import search  # search indexes what this module writes; import late

    items = list(items)
    results: list[list[ObjectChange] | ValidationError | ConflictError] = []
    contacts: dict[int, Contact] = {}
    for item in items:
        contacts.setdefault(item["contact"].pk, item["contact"])
    now = timezone.now()
    with acting_as(actor), transaction.atomic():
        wanted: list[list[tuple[str, str]]] = []
        for item in items:
            try:
                wanted.append(_normalize_identities(item.get("identities", ())))
            except ValidationError as exc:
                wanted.append([])
                results.append(exc)
                continue
            results.append([])
        holders = {p: i.contact_id for p, i in _holders_of(p for pairs in wanted for p in pairs).items()}
        kinds: dict[int, set[str]] = {}
        for contact_id, kind in Identity.objects.filter(contact_id__in=list(contacts)).values_list(
            "contact_id", "kind"
        ):
            kinds.setdefault(contact_id, set()).add(kind)
        changed: dict[int, set[str]] = {}  # contact id -> fields changed by the batch
        bumps: dict[int, int] = {}
        writes: list[tuple[int, list[ObjectChange]]] = []  # item position -> its change rows
        new_identities: list[Identity] = []
        for position, (item, pairs) in enumerate(zip(items, wanted, strict=True)):
            if not isinstance(results[position], list):
                continue
            contact = contacts[item["contact"].pk]
            fields = dict(item.get("fields") or {})
            try:
                taken = next((p for p in pairs if holders.get(p, contact.pk) != contact.pk), None)
                if taken is not None:
                    raise _taken(Identity(contact_id=holders[taken], kind=taken[0], value=taken[1]))
                diff = _apply_fields(contact, fields)
            except (ValidationError, ConflictError) as exc:
                results[position] = exc
                continue
            rows: list[ObjectChange] = []
            if fields:
                bumps[contact.pk] = bumps.get(contact.pk, 0) + 1
                changed.setdefault(contact.pk, set()).update(fields)
                if diff:
                    rows.append(change_row(contact, ObjectChange.Action.UPDATE, changes=diff))
            for kind, value in pairs:
                if holders.get((kind, value)) == contact.pk:
                    continue  # already theirs (identity_add does nothing either)
                holders[(kind, value)] = contact.pk
                new_identities.append(
                    Identity(
                        contact=contact,
                        kind=kind,
                        value=value,
                        is_primary=kind not in kinds.setdefault(contact.pk, set()),
                    )
                )
                kinds[contact.pk].add(kind)
                rows.append(
                    change_row(contact, ObjectChange.Action.UPDATE, changes={"identity_added": [None, value]})
                )
            writes.append((position, rows))
        groups: dict[tuple[frozenset[str], int], list[Contact]] = {}
        for contact_id, names in changed.items():
            contact = contacts[contact_id]
            contact.fill_search_text()
            contact.updated_at = now
            groups.setdefault((frozenset(names), bumps[contact_id]), []).append(contact)
        try:
            with transaction.atomic():
                for (written, bump), group in groups.items():
                    Contact.objects.bulk_update(group, [*sorted(written), "search_text", "updated_at"])
                    Contact.objects.filter(pk__in=[c.pk for c in group]).update(version=F("version") + bump)
                bulk_insert(Identity, new_identities)
        except IntegrityError as exc:
            raise ConflictError(
                _("A phone or e-mail of this batch was taken by another contact meanwhile; try again."),
                code="identity_taken",
                field="identities",
            ) from exc
        bulk_insert(ObjectChange, [row for _p, rows in writes for row in rows])
        for position, rows in writes:
            results[position] = rows
        for contact_id, bump in bumps.items():
            contact = contacts[contact_id]
            contact.version += bump
            contact._loaded_values = {**contact.changelog_snapshot(), "version": contact.version}
        reindex = set(changed) | {i.contact_id for i in new_identities if i.kind not in search.PHONE_KINDS}
        if reindex:
            search.index_contacts(reindex)
        renamed = [pk for pk in changed if "full_name" in changed[pk]]
        if renamed:
            search.index_deals(Deal.objects.filter(contact_id__in=renamed).values_list("pk", flat=True))
        phones = [i.pk for i in new_identities if i.kind in search.PHONE_KINDS]
        if phones:
            search.index_phones(phones)
    return results


def _apply_fields(contact: Contact, fields: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``fields`` on ``contact`` and validate; the change-log diff. Refused: ``contact`` as it was."""
    before = contact.changelog_snapshot()
    attnames = {f.name: f.attname for f in Contact._meta.concrete_fields}
    kept = {attnames[name]: getattr(contact, attnames[name]) for name in fields if name in CONTACT_FIELDS}
    try:
        _set_fields(contact, fields, CONTACT_FIELDS)
        # Foreign keys of a loaded row, or given as loaded rows, exist: no query for each.
        checked = [
            name
            for name in ("company", "responsible")
            if name in fields and not isinstance(fields[name], Model)
        ]
        contact.full_clean(
            exclude=[
                f.name for f in Contact._meta.concrete_fields if f.is_relation and f.name not in checked
            ],
            validate_unique=False,
        )
    except ValidationError:
        for attname, value in kept.items():
            setattr(contact, attname, value)
        raise
    after = contact.changelog_snapshot()
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name in before and _jsonable(before.get(name)) != _jsonable(value)
    }


@transaction.atomic
def contact_update(
    *,
    actor: User | None,
    contact: Contact,
    expected_version: int | None = None,
    identities: Iterable[dict[str, str] | tuple[str, str]] | None = None,
    custom: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Contact:
    """Update fields; when ``identities`` is given it becomes the full list (others removed)."""
    with acting_as(actor):
        check_version(contact, expected_version)
        _set_fields(contact, fields, CONTACT_FIELDS)
        custom_apply(contact, custom, creating=False)
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
    custom: Mapping[str, Any] | None = None,
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
        custom_apply(deal, custom, creating=True)
        deal.position = _top_position(stage)
        if stage.is_terminal:
            deal.closed_at = timezone.now()
        _save(deal)
        emit(DealCreated(deal_id=deal.pk, actor_id=getattr(actor, "pk", None)))
        return deal


@transaction.atomic
def deal_update(
    *,
    actor: User | None,
    deal: Deal,
    expected_version: int | None = None,
    custom: Mapping[str, Any] | None = None,
    **fields: Any,
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
        custom_apply(deal, custom, creating=False)
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
def lead_create(
    *,
    actor: User | None,
    contact: Contact,
    source: str,
    channel: str,
    custom: Any = None,  # Any: callers spread free-form lead fields (**utm) beside it
    **fields: Any,
) -> Lead:
    """A new inquiry from ``contact``. Its responsible defaults to the contact's; a salesperson given
    the lead of an unowned contact becomes that person's owner, so their next call, e-mail or message
    goes to them (routing's "contact's responsible"), not round the queue again."""
    with acting_as(actor):
        lead = Lead(contact=contact, source=source, channel=channel)
        _set_fields(lead, fields, LEAD_FIELDS)
        custom_apply(lead, custom, creating=True)
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
def lead_update(
    *, actor: User | None, lead: Lead, expected_version: int | None = None, **fields: Any
) -> Lead:
    """Change a lead's fields (its responsible, comment, UTM...): validated, change-logged, one save.

    A new responsible is the lead's, not the contact's (the contact keeps its owner)."""
    with acting_as(actor):
        check_version(lead, expected_version)
        _set_fields(lead, fields, LEAD_FIELDS)
        _save(lead, exclude=["contact", "responsible", "deal", "duplicate_of", "triaged_by"])
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


# --- pipelines and stages (the settings editor) ----------------------------------------------

PIPELINE_EDIT_FIELDS = {"name", "order", "is_default", "is_active"}
STAGE_EDIT_FIELDS = {"name", "kind", "probability", "color"}


def _pipeline_name_free(name: str, pipeline: Pipeline | None = None) -> str:
    name = (name or "").strip()
    others = Pipeline.objects.exclude(pk=pipeline.pk) if pipeline is not None else Pipeline.objects.all()
    if name and _name_taken(others, name):
        raise ConflictError(
            _("A pipeline named “%(name)s” already exists.") % {"name": name}, code="name_taken", field="name"
        )
    return name


@transaction.atomic
def pipeline_update(*, actor: User | None, pipeline: Pipeline, **fields: Any) -> Pipeline:
    """Rename, reorder, make default or (de)activate a pipeline (one default at a time)."""
    unknown = set(fields) - PIPELINE_EDIT_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    before = {name: getattr(pipeline, name) for name in fields}
    if "name" in fields:
        fields["name"] = _pipeline_name_free(fields["name"], pipeline)
    for name, value in fields.items():
        setattr(pipeline, name, value)
    if not pipeline.is_active and pipeline.is_default:
        raise field_error("is_active", _("The default pipeline cannot be switched off."), "default_inactive")
    pipeline.full_clean(validate_unique=False)
    if fields.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    pipeline.save()
    diff = {
        name: [before[name], getattr(pipeline, name)]
        for name in fields
        if before[name] != getattr(pipeline, name)
    }
    if diff:
        record_change(pipeline, ObjectChange.Action.UPDATE, changes=diff, user=actor)
    return pipeline


def _stage_name_free(pipeline: Pipeline, name: str, stage: Stage | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise field_error("name", _("Give the stage a name."), "required")
    others = pipeline.stages.exclude(pk=stage.pk) if stage is not None else pipeline.stages.all()
    if _name_taken(others, name):
        raise ConflictError(
            _("The pipeline already has a stage “%(name)s”.") % {"name": name},
            code="name_taken",
            field="name",
        )
    return name


def _renumber(pipeline: Pipeline, ordered: list[Stage]) -> None:
    for position, stage in enumerate(ordered):
        if stage.order != position:
            Stage.objects.filter(pk=stage.pk).update(order=position, updated_at=timezone.now())
            stage.order = position


@transaction.atomic
def stage_create(
    *,
    actor: User | None,
    pipeline: Pipeline,
    name: str,
    kind: str = Stage.Kind.OPEN,
    position: int | None = None,
    probability: int = 0,
    color: str = "",
) -> Stage:
    """A new stage at ``position`` (0 = first; empty = last) of ``pipeline``."""
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()  # one editor at a time
    stage = Stage(
        pipeline=pipeline,
        name=_stage_name_free(pipeline, name),
        kind=kind,
        probability=probability,
        color=(color or "").strip(),
    )
    stage.full_clean(exclude=["order"], validate_unique=False)
    ordered = list(pipeline.stages.order_by("order", "id"))
    position = len(ordered) if position is None else max(0, min(int(position), len(ordered)))
    stage.order = position
    stage.save()
    ordered.insert(position, stage)
    _renumber(pipeline, ordered)
    record_change(
        pipeline,
        ObjectChange.Action.UPDATE,
        changes={"stage_added": [None, stage.name]},
        message=_("Stage “%(name)s” added.") % {"name": stage.name},
        user=actor,
    )
    return stage


@transaction.atomic
def stage_update(*, actor: User | None, stage: Stage, position: int | None = None, **fields: Any) -> Stage:
    """Rename, recolour, change kind or probability, or move a stage to ``position`` in its pipeline."""
    unknown = set(fields) - STAGE_EDIT_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    pipeline = stage.pipeline
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
    before = {name: getattr(stage, name) for name in fields}
    if "name" in fields:
        fields["name"] = _stage_name_free(pipeline, fields["name"], stage)
    if "color" in fields:
        fields["color"] = (fields["color"] or "").strip()
    kind = fields.get("kind", stage.kind)
    if kind != stage.kind:
        if stage.deals.exists():
            raise field_error(
                "kind",
                _("Deals are in this stage: move them out before making it won, lost or in progress."),
                "stage_has_deals",
            )
        if (
            stage.kind == Stage.Kind.OPEN
            and not pipeline.stages.filter(kind=Stage.Kind.OPEN).exclude(pk=stage.pk).exists()
        ):
            raise field_error(
                "kind",
                _("A pipeline needs at least one stage in progress, where new deals start."),
                "last_open",
            )
    for name, value in fields.items():
        setattr(stage, name, value)
    stage.full_clean(validate_unique=False)
    stage.save()
    diff = {
        name: [before[name], getattr(stage, name)] for name in fields if before[name] != getattr(stage, name)
    }
    if position is not None:
        ordered = [s for s in pipeline.stages.order_by("order", "id") if s.pk != stage.pk]
        old = stage.order
        position = max(0, min(int(position), len(ordered)))
        ordered.insert(position, stage)
        _renumber(pipeline, ordered)
        if old != stage.order:
            diff["order"] = [old, stage.order]
    if diff:
        record_change(stage, ObjectChange.Action.UPDATE, changes=diff, user=actor)
    return stage


@transaction.atomic
def stages_reorder(*, actor: User | None, pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    """Put a pipeline's stages in the order of ``stage_ids`` (the editor's drag and drop)."""
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
    stages = {s.pk: s for s in pipeline.stages.all()}
    if sorted(stage_ids) != sorted(stages):
        raise field_error("stages", _("List every stage of the pipeline once."), "stages_mismatch")
    before = [stages[pk].name for pk in sorted(stages, key=lambda pk: (stages[pk].order, pk))]
    ordered = [stages[pk] for pk in stage_ids]
    _renumber(pipeline, ordered)
    after = [s.name for s in ordered]
    if before != after:
        record_change(pipeline, ObjectChange.Action.UPDATE, changes={"stages": [before, after]}, user=actor)
    return ordered


def stage_references(stage: Stage) -> list[str]:
    """What else points at ``stage`` and would dangle without it: automation rules and SLA policies."""
    from otdel.automation.models import Rule, SlaPolicy

    pk = str(stage.pk)
    found: list[str] = []

    def mentions(actions: Any) -> bool:
        return any(
            isinstance(a, dict) and a.get("action") == "move_stage" and str(a.get("stage")) == pk
            for a in actions or []
        )

    def in_conditions(conditions: Any) -> bool:
        for cond in conditions or []:
            if not isinstance(cond, dict):
                continue
            if "any" in cond or "all" in cond:
                if in_conditions(cond.get("any", cond.get("all"))):
                    return True
            elif cond.get("field") == "stage":
                value = cond.get("value")
                if pk in [str(v) for v in (value if isinstance(value, list) else [value])]:
                    return True
        return False

    for rule in Rule.objects.all():
        if (
            rule.stage_id == stage.pk
            or str((rule.trigger or {}).get("stage")) == pk
            or mentions(rule.actions)
            or in_conditions(rule.conditions)
        ):
            found.append(_("automation rule “%(name)s”") % {"name": rule.name})
    for policy in SlaPolicy.objects.all():
        if (
            str((policy.applies_to or {}).get("stage")) == pk
            or mentions(policy.on_warn)
            or mentions(policy.on_breach)
        ):
            found.append(_("SLA policy “%(name)s”") % {"name": policy.name})
    return found


@transaction.atomic
def stage_delete(*, actor: User | None, stage: Stage, move_to: Stage | None = None) -> int:
    """Delete a stage, first moving its deals to ``move_to`` (same pipeline, same kind); returns how many.

    One transaction: every moved deal gets its change-log row, regulations shown on the stage and
    the stage's report history go to ``move_to``. Refused (409) while automation rules or SLA
    policies name the stage, and when deals are there and ``move_to`` is not given. The move is an
    administrator's merge of stages, not a salesperson's step: no automation fires, no checklist gate.
    """
    from otdel.kb.models import StageExit
    from otdel.reports.models import StageVisit

    pipeline = stage.pipeline
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
    references = stage_references(stage)
    if references:
        raise ConflictError(
            _("The stage “%(stage)s” is used by %(what)s. Change them first, then delete the stage.")
            % {"stage": stage.name, "what": ", ".join(references)},
            code="stage_in_use",
        )
    if (
        stage.kind == Stage.Kind.OPEN
        and not pipeline.stages.filter(kind=Stage.Kind.OPEN).exclude(pk=stage.pk).exists()
    ):
        raise ConflictError(
            _("A pipeline needs at least one stage in progress, where new deals start."), code="last_open"
        )
    deals = list(Deal.objects.select_for_update().filter(stage=stage).order_by("position", "-id"))
    if move_to is not None:
        if move_to.pk == stage.pk or move_to.pipeline_id != pipeline.pk:
            raise field_error("move_to", _("Choose another stage of the same pipeline."), "move_to_invalid")
        if deals and move_to.kind != stage.kind:
            raise field_error(
                "move_to",
                _("Deals can go only to a stage of the same kind (in progress, won or lost)."),
                "move_to_kind",
            )
    elif deals:
        raise ConflictError(
            _("%(count)s deals are in the stage “%(stage)s”: choose where to move them.")
            % {"count": len(deals), "stage": stage.name},
            code="stage_has_deals",
            field="move_to",
        )
    if deals and move_to is not None:
        bottom = Deal.objects.filter(stage=move_to).aggregate(m=Max("position"))["m"] or 0.0
        message = _("Stage “%(old)s” was deleted; the deal moved to “%(new)s”.") % {
            "old": stage.name,
            "new": move_to.name,
        }
        now = timezone.now()
        for offset, deal in enumerate(deals, start=1):
            Deal.objects.filter(pk=deal.pk).update(
                stage=move_to, position=bottom + offset, version=F("version") + 1, updated_at=now
            )
            record_change(
                deal,
                ObjectChange.Action.MOVE,
                changes={"stage_id": [stage.pk, move_to.pk]},
                message=message,
                user=actor,
            )
        StageVisit.objects.filter(stage=stage).update(stage=move_to)
        StageExit.objects.filter(stage=stage).update(stage=move_to)
    if move_to is not None:
        for article in stage.kb_articles.all():
            article.stages.add(move_to)
    name = stage.name
    try:
        with transaction.atomic():
            stage.delete()
    except ProtectedError as exc:  # a deal was moved in while this ran
        raise ConflictError(
            _("A deal has just been moved into the stage “%(stage)s”; try again.") % {"stage": name},
            code="stage_has_deals",
        ) from exc
    _renumber(pipeline, list(pipeline.stages.order_by("order", "id")))
    record_change(
        pipeline,
        ObjectChange.Action.UPDATE,
        changes={"stage_deleted": [name, None], "deals_moved": len(deals)},
        message=(
            _("Stage “%(name)s” deleted; %(count)s deals moved to “%(to)s”.")
            % {"name": name, "count": len(deals), "to": move_to.name}
            if move_to is not None
            else _("Stage “%(name)s” deleted.") % {"name": name}
        ),
        user=actor,
    )
    return len(deals)


# --- custom fields (definitions) -------------------------------------------------------------

CUSTOM_FIELD_EDIT = {"name", "options", "required", "in_list", "is_active", "order"}


def _clean_options(field_type: str, options: Any) -> list[str]:
    if field_type not in (CustomField.Type.LIST, CustomField.Type.MULTI_LIST):
        return []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise field_error("options", _("Give the options as a list of texts."), "invalid")
    cleaned: list[str] = []
    for option in (o.strip() for o in options):
        if option and option not in cleaned:
            if len(option) > 200:
                raise field_error("options", _("An option is at most 200 characters."), "invalid")
            cleaned.append(option)
    if not cleaned:
        raise field_error("options", _("A list needs at least one option."), "required")
    return cleaned


def custom_field_usage(field: CustomField, value: Any = None) -> int:
    """How many records hold a value of ``field`` (or the option ``value`` of a list)."""
    from otdel.crm.custom import MODELS

    model: Any = MODELS[field.entity]
    queryset = model._default_manager.filter(custom__has_key=field.code)
    if value is None:
        return int(queryset.count())
    return sum(
        1
        for stored in queryset.values_list("custom", flat=True).iterator()
        if stored.get(field.code) == value
        or (isinstance(stored.get(field.code), list) and value in stored[field.code])
    )


@transaction.atomic
def custom_field_create(
    *,
    actor: User | None,
    entity: str,
    code: str,
    name: str,
    type: str,
    options: Any = (),
    required: bool = False,
    in_list: bool = False,
    order: int | None = None,
) -> CustomField:
    """Define a field and build its index (the index is what keeps filtering by it fast)."""
    from otdel.crm.custom import index_create

    code = (code or "").strip()
    if CustomField.objects.filter(entity=entity, code=code).exists():
        raise ConflictError(
            _("There already is a field with the code “%(code)s”.") % {"code": code},
            code="code_taken",
            field="code",
        )
    field = CustomField(
        entity=entity,
        code=code,
        name=(name or "").strip(),
        type=type,
        options=_clean_options(type, list(options) if isinstance(options, tuple) else options),
        required=required,
        in_list=in_list,
    )
    if order is None:
        order = (CustomField.objects.filter(entity=entity).aggregate(m=Max("order"))["m"] or 0) + 1
    field.order = order
    with acting_as(actor):
        field.full_clean(validate_unique=False)
        field.save()
    index_create(field)
    return field


@transaction.atomic
def custom_field_update(*, actor: User | None, field: CustomField, **fields: Any) -> CustomField:
    """Change what may change: name, options, required, list column, active, order.

    The code, the records and the type stay (values and documents depend on them); an option still
    held by records cannot be removed. Deactivating hides the field and keeps every value.
    """
    fixed = {"code", "entity", "type"} & set(fields)
    for name in fixed:
        if fields[name] != getattr(field, name):
            raise field_error(
                name, _("This cannot be changed once the field exists; create a new field."), "immutable"
            )
        fields.pop(name)
    unknown = set(fields) - CUSTOM_FIELD_EDIT
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    if "options" in fields:
        options = _clean_options(field.type, fields["options"])
        for removed in [o for o in field.options if o not in options]:
            used = custom_field_usage(field, removed)
            if used:
                raise field_error(
                    "options",
                    _("The option “%(option)s” is set on %(count)s records; change them first.")
                    % {"option": removed, "count": used},
                    "option_in_use",
                )
        fields["options"] = options
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    for name, value in fields.items():
        setattr(field, name, value)
    with acting_as(actor):
        _save(field)
    return field


@transaction.atomic
def custom_field_delete(*, actor: User | None, field: CustomField) -> None:
    """Delete a field no record has a value of (otherwise deactivate it: values are kept)."""
    from otdel.crm.custom import index_drop

    used = custom_field_usage(field)
    if used:
        raise ConflictError(
            _(
                "%(count)s records have a value in “%(name)s”. Switch the field off instead: the values are kept."
            )
            % {"count": used, "name": field.name},
            code="field_in_use",
        )
    with acting_as(actor):
        field.delete()
    index_drop(field)


@transaction.atomic
def custom_values_update(
    *, actor: User | None, record: Any, custom: dict[str, Any], expected_version: int | None = None
) -> Any:
    """Change some custom values of a deal, contact, company or lead (a card's fields block)."""
    with acting_as(actor):
        check_version(record, expected_version)
        custom_apply(record, custom, creating=False)
        _save(record, exclude=["contact", "responsible", "deal", "duplicate_of", "triaged_by", "company"])
    return record

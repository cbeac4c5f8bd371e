"""One file row -> Otdel records, through the CRM services (change log, identities, routing).

``parse_row`` turns cells into typed values (no database); ``apply_row`` finds the existing person
or company through identities (phone, e-mail) or INN/name, then creates, fills in or overwrites, or,
in a dry run, only says what it would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Max
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.core.exceptions import ConflictError
from otdel.core.identity import format_phone
from otdel.core.models import ObjectChange
from otdel.crm import services as crm
from otdel.crm.models import Channel, Company, Contact, Identity, LeadSource, LostReason, Pipeline, Stage
from otdel.transfer import values as cells
from otdel.transfer.layouts import LOST_WORDS, TARGET_LABELS, WON_WORDS, guess_source, normalize_header
from otdel.transfer.models import Dedupe, ImportJob, ImportRow
from otdel.transfer.reader import MAX_CELL

Outcome = ImportRow.Outcome
CONTACT_TEXT = ("position",)
COMPANY_TEXT = ("inn", "website", "address", "industry")


class RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class RowResult:
    row: int
    outcome: str
    field: str = ""
    message: str = ""
    objects: list[list[Any]] = dc_field(default_factory=list)


# --- value lookups shared by a whole run ------------------------------------------------------


def user_key(user: User) -> set[str]:
    names = {user.get_username(), user.email, user.get_full_name(), getattr(user, "full_name", "")}
    full = str(getattr(user, "full_name", "") or "")
    if len(full.split()) >= 2:
        parts = full.split()
        names.add(" ".join(reversed(parts[:2])))
        names.add(" ".join(parts[:2]))
    return {normalize_header(n) for n in names if n}


def guess_user(raw: str, users: list[User]) -> User | None:
    key = normalize_header(raw)
    if not key:
        return None
    for user in users:
        if key in user_key(user):
            return user
    return None


def guess_stage(raw: str, stages: list[Stage]) -> Stage | None:
    key = normalize_header(raw)
    if not key:
        return None
    for stage in stages:
        if normalize_header(stage.name) == key:
            return stage
    if key in WON_WORDS:
        return next((s for s in stages if s.kind == Stage.Kind.WON), None)
    if key in LOST_WORDS:
        return next((s for s in stages if s.kind == Stage.Kind.LOST), None)
    return None


class ImportContext:
    """Caches for one run: users, stages, companies by key, identities seen (for dry runs)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.actor = job.created_by
        self.dry = job.dry_run
        self.users = list(User.objects.filter(is_active=True))
        self.users_by_id = {u.pk: u for u in self.users}
        self.pipeline = (
            job.pipeline or Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
        )
        self.stages = list(self.pipeline.stages.all()) if self.pipeline else []
        self.stages_by_id = {s.pk: s for s in self.stages}
        self.companies: dict[str, int | str] = {}
        self.seen: dict[str, str] = {}  # identity value -> "row N" (dry runs make nothing)
        self.headers = job.headers
        self.mapping = {int(k): v for k, v in (job.mapping or {}).items() if v}
        self.maps = job.value_maps or {}
        self._lost_reason: LostReason | None = None
        self.routing: Any = None  # the routing snapshot of the current batch (read before it)
        # While a batch applies its rows of known people: who holds which phone/e-mail, and those
        # contacts loaded once (apply_contact_rows); empty otherwise.
        self.known_holders: dict[tuple[str, str], int] = {}
        self.contacts: dict[int, Contact] = {}

    # value maps: what the user chose on the mapping screen, else the same guess the screen offered
    def user_for(self, raw: str) -> User | None:
        chosen = self.maps.get("responsible", {}).get(raw)
        if chosen not in (None, ""):
            return self.users_by_id.get(int(chosen))
        if raw in self.maps.get("responsible", {}):
            return None
        return guess_user(raw, self.users)

    def stage_for(self, raw: str) -> Stage | None:
        chosen = self.maps.get("stage", {}).get(raw)
        if chosen not in (None, ""):
            return self.stages_by_id.get(int(chosen))
        return guess_stage(raw, self.stages)

    def source_for(self, raw: str) -> str:
        chosen = self.maps.get("source", {}).get(raw)
        return chosen if chosen in LeadSource.values else guess_source(raw)

    def lost_reason(self) -> LostReason:
        if self._lost_reason is None:
            name = _("Not stated (import)")
            self._lost_reason = LostReason.objects.filter(name=name).first() or crm.lost_reason_create(
                actor=self.actor, name=name
            )
        return self._lost_reason


# --- parsing ----------------------------------------------------------------------------------


def _column_name(ctx: ImportContext, index: int) -> str:
    return ctx.headers[index] if index < len(ctx.headers) else f"#{index + 1}"


def parse_row(ctx: ImportContext, values: list[Any]) -> dict[str, Any]:
    """Typed values by target, or RowError naming the column at fault. No database writes."""
    rec: dict[str, Any] = {"phones": [], "emails": [], "notes": [], "custom": {}}
    for index, target in ctx.mapping.items():
        raw = values[index] if index < len(values) else None
        column = _column_name(ctx, index)
        if isinstance(raw, str) and len(raw) > MAX_CELL:
            raise RowError(
                column,
                _("The cell is %(length)s characters long; at most %(limit)s fit.")
                % {"length": f"{len(raw):,}".replace(",", " "), "limit": f"{MAX_CELL:,}".replace(",", " ")},
            )
        if isinstance(raw, str) and "\x00" in raw:  # PostgreSQL text cannot hold it
            raise RowError(column, str(ProhibitNullCharactersValidator.message))
        try:
            _parse_cell(ctx, rec, target, raw, column)
        except ValidationError as exc:
            raise RowError(column, " ".join(exc.messages)) from exc
    if not rec.get("full_name"):
        parts = [rec.get("last_name"), rec.get("first_name"), rec.get("middle_name")]
        rec["full_name"] = " ".join(p for p in parts if p)
    comment = "\n".join(filter(None, [rec.get("comment", ""), *rec["notes"]]))
    rec["comment"] = comment
    return rec


def _parse_cell(ctx: ImportContext, rec: dict[str, Any], target: str, raw: Any, column: str) -> None:
    value = cells.text(raw)
    if target == "phone":
        rec["phones"] += [p for p in cells.split_phones(raw) if p not in rec["phones"]]
    elif target == "email":
        rec["emails"] += [e for e in cells.split_emails(raw) if e not in rec["emails"]]
    elif target == "note":
        if value:
            rec["notes"].append(f"{column}: {value}")
    elif target == "custom":
        if value:
            rec["custom"][column] = value
    elif target in ("amount", "price"):
        rec[target] = cells.parse_amount(raw)
    elif target == "vat_rate":
        from otdel.documents.services import vat_rate_clean  # the catalog's own check

        rate = cells.parse_vat(raw)
        rec["vat_rate"] = vat_rate_clean("vat_rate", rate) if rate else ""
    elif target == "is_active":
        rec["is_active"] = cells.parse_yes_no(raw)
    elif target == "expected_close":
        rec["expected_close"] = cells.parse_date(raw)
    elif target == "responsible":
        rec["responsible"] = ctx.user_for(value) if value else None
        if value and rec["responsible"] is None and value not in ctx.maps.get("responsible", {}):
            rec["notes"].append(f"{column}: {value}")
    elif target == "stage":
        if value:
            stage = ctx.stage_for(value)
            if stage is None:
                raise ValidationError(
                    _("Stage “%(value)s” is not mapped to a stage of the pipeline “%(pipeline)s”.")
                    % {"value": value, "pipeline": ctx.pipeline}
                )
            rec["stage"] = stage
    elif target == "source":
        rec["source"] = ctx.source_for(value) if value else str(LeadSource.IMPORT)
    elif target == "currency":
        if value and len(value) > 3:
            raise ValidationError(_("Write the currency as a three-letter code, e.g. RUB."))
        rec["currency"] = value.upper()
    elif target == "inn":
        digits = value.replace(" ", "")
        if digits and (not digits.isdigit() or len(digits) not in (10, 12)):
            raise ValidationError(_("An INN has 10 or 12 digits."))
        rec["inn"] = digits
    else:
        limit = {"comment": 100_000, "address": 100_000, "product_name": 500}.get(target, 255)
        if len(value) > limit:
            raise ValidationError(
                _("“%(field)s” is at most %(limit)s characters.")
                % {"field": TARGET_LABELS[target], "limit": limit}
            )
        rec[target] = value


# --- applying ---------------------------------------------------------------------------------


def _changes_since(marker: int, obj: Any) -> list[int]:
    from django.contrib.contenttypes.models import ContentType

    return list(
        ObjectChange.objects.filter(
            id__gt=marker,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=obj.pk,
            action=ObjectChange.Action.UPDATE,
        ).values_list("id", flat=True)
    )


def _marker() -> int:
    return ObjectChange.objects.aggregate(m=Max("id"))["m"] or 0


def _label(obj: Any) -> str:
    return obj._meta.label_lower


def apply_row(ctx: ImportContext, number: int, values: list[Any], kind: str) -> RowResult:
    rec = parse_row(ctx, values)
    marker = 0  # the change log position is read only where an existing record is changed
    result = RowResult(row=number, outcome=Outcome.SKIPPED)
    if kind == "companies":
        _company_row(ctx, rec, result, marker)
    elif kind == "contacts":
        _contact_step(ctx, rec, result, marker, number, main=True)
    elif kind == "deals":
        _deal_row(ctx, rec, result, marker, number)
    elif kind == "leads":
        _lead_row(ctx, rec, result, marker, number)
    elif kind == "products":
        _product_row(ctx, rec, result, number)
    return result


def _note(result: RowResult, text: str) -> None:
    result.message = " ".join(filter(None, [result.message, text]))


def _known_contact(ctx: ImportContext, ids: list[int], result: RowResult) -> Contact:
    """The contact a row of a known person goes to: the first of those holding its phones and
    e-mails (from the batch's contacts read ahead, else the database); the row's message says when
    several hold them."""
    contact = ctx.contacts.get(ids[0]) or Contact.objects.get(pk=ids[0])
    if len(ids) > 1:
        _note(
            result,
            _("The phones and e-mails belong to several contacts (#%(ids)s); the row went to #%(id)s.")
            % {"ids": ", #".join(map(str, ids)), "id": contact.pk},
        )
    return contact


def _route_owner(ctx: ImportContext) -> User | None:
    if not ctx.job.route_owners or ctx.dry:
        return None
    from otdel.routing.services import routing_decide

    return routing_decide(contact=None, channel=Channel.MANUAL, assign=True, snapshot=ctx.routing).user


def _route_owners(ctx: ImportContext, count: int) -> list[User | None]:
    """``_route_owner`` for ``count`` new people at once (the queue read and locked once)."""
    if not ctx.job.route_owners or ctx.dry or count < 1:
        return [None] * count
    from otdel.routing.services import routing_owners

    return routing_owners(count=count, channel=Channel.MANUAL, snapshot=ctx.routing)


def _fill(existing: Any, rec: dict[str, Any], names: tuple[str, ...], mode: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in names:
        new = rec.get(name)
        if new in (None, ""):
            continue
        old = getattr(existing, name)
        if old in (None, "") or (mode == Dedupe.OVERWRITE and old != new):
            changes[name] = new
    return changes


def _company_step(
    ctx: ImportContext, rec: dict[str, Any], result: RowResult, marker: int, *, main: bool
) -> Company | None:
    name = (rec.get("company") or "").strip()
    inn = rec.get("inn", "")
    if not name and not inn:
        if main:
            raise RowError(TARGET_LABELS["company"], _("The company name is empty."))
        return None
    key = f"inn:{inn}" if inn else f"name:{name.lower()}"
    known = ctx.companies.get(key)
    company: Company | None = None
    if isinstance(known, int):
        company = Company.objects.filter(pk=known).first()
    elif known is None:
        company = (Company.objects.filter(inn=inn).first() if inn else None) or (
            Company.objects.filter(name__iexact=name).order_by("id").first() if name else None
        )
    fields = {
        "inn": inn,
        "website": rec.get("website", ""),
        "address": rec.get("address", ""),
        "industry": rec.get("industry", ""),
    }
    if main:
        fields["comment"] = rec.get("comment", "")
    if company is None and known is None:
        if ctx.dry:
            ctx.companies[key] = f"row {result.row}"
            if main:
                result.outcome = Outcome.CREATED
            return None
        company = crm.company_create(
            actor=ctx.actor,
            name=name or inn,
            responsible=rec.get("responsible") if main else None,
            **{k: v for k, v in fields.items() if v},
        )
        ctx.companies[key] = company.pk
        result.objects.append([_label(company), company.pk, "created", []])
        if main:
            result.outcome = Outcome.CREATED
        return company
    if company is None:  # made earlier in this dry run
        if main:
            result.outcome = Outcome.SKIPPED if ctx.job.dedupe == Dedupe.SKIP else Outcome.UPDATED
            _note(result, _("The same company is on %(where)s.") % {"where": known})
        return None
    ctx.companies[key] = company.pk
    if not main or ctx.job.dedupe == Dedupe.SKIP:
        if main:
            _note(result, _("Already in Otdel: company #%(id)s.") % {"id": company.pk})
        return company
    rec_fields = {**rec, **fields, "responsible": rec.get("responsible")}
    changes = _fill(company, rec_fields, (*COMPANY_TEXT, "comment", "responsible"), ctx.job.dedupe)
    if changes:
        result.outcome = Outcome.UPDATED
        if not ctx.dry:
            marker = _marker()
            crm.company_update(actor=ctx.actor, company=company, **changes)
            result.objects.append([_label(company), company.pk, "changed", _changes_since(marker, company)])
    else:
        _note(result, _("Nothing new for company #%(id)s.") % {"id": company.pk})
    return company


def _company_row(ctx: ImportContext, rec: dict[str, Any], result: RowResult, marker: int) -> None:
    _company_step(ctx, rec, result, marker, main=True)


def _holders(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Who holds each of ``pairs`` now (the survivor of a merge): one query per kind."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, set()).add(value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        for value, contact_id, merged_into in Identity.objects.filter(
            kind=kind, value__in=values
        ).values_list("value", "contact_id", "contact__merged_into_id"):
            found[(kind, value)] = merged_into or contact_id
    return found


def _contact_step(
    ctx: ImportContext, rec: dict[str, Any], result: RowResult, marker: int, number: int, *, main: bool
) -> Contact | None:
    pairs = _contact_pairs(rec)
    name = rec.get("full_name", "").strip()
    if not name and not pairs:
        if main:
            raise RowError(TARGET_LABELS["full_name"], _("Neither a name nor a phone or e-mail is given."))
        return None
    known = ctx.known_holders
    holders = {p: known[p] for p in pairs} if all(p in known for p in pairs) else _holders(pairs)
    if ctx.dry:
        earlier = [ctx.seen[v] for _k, v in pairs if v in ctx.seen]
        if not holders and earlier:
            result.outcome = Outcome.SKIPPED if ctx.job.dedupe == Dedupe.SKIP else Outcome.MERGED
            _note(result, _("The same person is on %(where)s.") % {"where": earlier[0]})
            return None
    if not holders:
        if ctx.dry:
            for _kind, value in pairs:
                ctx.seen[value] = _("row %(n)s") % {"n": number}
            if main:
                result.outcome = Outcome.CREATED
            else:
                _note(result, _("A new contact will be created."))
            return None
        company = _company_step(ctx, rec, result, marker, main=False)
        responsible = rec.get("responsible") or _route_owner(ctx)
        display = name or (format_phone(pairs[0][1]) if pairs[0][0] == "phone" else pairs[0][1])
        contact = crm.contact_create(
            actor=ctx.actor,
            full_name=display[:255],
            identities=pairs,
            company=company,
            position=rec.get("position", ""),
            responsible=responsible,
            comment=rec.get("comment", "") if main else "",
        )
        result.objects.append([_label(contact), contact.pk, "created", []])
        if main:
            result.outcome = Outcome.CREATED
        return contact
    contact = _known_contact(ctx, sorted(set(holders.values())), result)
    if ctx.job.dedupe == Dedupe.SKIP:
        if main:
            result.outcome = Outcome.SKIPPED
            _note(result, _("Already in Otdel: contact #%(id)s.") % {"id": contact.pk})
        return contact
    company = None if ctx.dry else _company_step(ctx, rec, result, marker, main=False)
    fields = {**rec, "full_name": name, "company": company}
    names = ("full_name", "position", "company", "responsible") + (("comment",) if main else ())
    changes = _fill(contact, fields, names, ctx.job.dedupe)
    new_pairs = [p for p in pairs if p not in holders]
    outcome = Outcome.UPDATED if changes else (Outcome.MERGED if new_pairs else Outcome.SKIPPED)
    if main:
        result.outcome = outcome
        if outcome == Outcome.SKIPPED:
            _note(result, _("Nothing new for contact #%(id)s.") % {"id": contact.pk})
    if ctx.dry or outcome == Outcome.SKIPPED:
        return contact
    marker = _marker()
    if changes:
        crm.contact_update(actor=ctx.actor, contact=contact, **changes)
    for kind, value in new_pairs:
        crm.identity_add(actor=ctx.actor, contact=contact, kind=kind, value=value)
    result.objects.append([_label(contact), contact.pk, "changed", _changes_since(marker, contact)])
    return contact


def _contact_pairs(rec: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [("phone", p) for p in rec["phones"]] + [("email", e) for e in rec["emails"]]
    if rec.get("telegram"):
        try:
            from otdel.core.identity import normalize_telegram

            pairs.append(("telegram", normalize_telegram(rec["telegram"])))
        except ValidationError as exc:
            raise RowError(TARGET_LABELS["telegram"], " ".join(exc.messages)) from exc
    return pairs


def _error(number: int, exc: Exception) -> RowResult:
    if isinstance(exc, (RowError, ConflictError)):
        return RowResult(row=number, outcome=Outcome.ERROR, field=exc.field, message=exc.message)
    assert isinstance(exc, ValidationError)
    fields = getattr(exc, "error_dict", {})
    return RowResult(
        row=number, outcome=Outcome.ERROR, field=next(iter(fields), ""), message=" ".join(exc.messages)
    )


def apply_contact_rows(ctx: ImportContext, rows: list[tuple[int, list[Any]]]) -> list[RowResult]:
    """Contact rows of a real run, many at a time: the rows of new people go to the CRM in one
    ``contacts_create_batch``; the rows whose phone or e-mail is already known (in Otdel, or on an
    earlier row of ``rows``) follow, in file order, through ``contacts_update_batch`` (updates and
    merges). Row outcomes and report rows are those of the row-by-row path (``apply_row``)."""
    from django.db import transaction

    parsed: list[tuple[int, list[Any], dict[str, Any], list[tuple[str, str]]]] = []
    results: dict[int, RowResult] = {}
    for number, values in rows:
        try:
            rec = parse_row(ctx, values)
            pairs = _contact_pairs(rec)
            if not rec.get("full_name", "").strip() and not pairs:
                raise RowError(
                    TARGET_LABELS["full_name"], _("Neither a name nor a phone or e-mail is given.")
                )
        except (RowError, ValidationError) as exc:
            results[number] = _error(number, exc)
            continue
        parsed.append((number, values, rec, pairs))
    holders = _holders([pair for *_rest, pairs in parsed for pair in pairs])
    fresh: list[tuple[int, dict[str, Any], list[tuple[str, str]], Company | None, RowResult]] = []
    later: list[tuple[int, list[Any], dict[str, Any], list[tuple[str, str]]]] = []
    claimed: set[tuple[str, str]] = set()
    for number, values, rec, pairs in parsed:
        known = any(p in holders or p in claimed for p in pairs)
        claimed.update(pairs)  # a later row with any of these is the same person
        if known:
            later.append((number, values, rec, pairs))  # known: update/merge/skip after the new ones
            continue
        result = RowResult(row=number, outcome=Outcome.CREATED)
        company = None
        if rec.get("company") or rec.get("inn"):
            try:
                with transaction.atomic():
                    company = _company_step(ctx, rec, result, 0, main=False)
            except (RowError, ValidationError, ConflictError) as exc:
                results[number] = _error(number, exc)
                continue
        fresh.append((number, rec, pairs, company, result))
    items = []
    owners = iter(_route_owners(ctx, sum(1 for _n, rec, *_rest in fresh if not rec.get("responsible"))))
    for _number, rec, pairs, company, _result in fresh:
        name = rec.get("full_name", "").strip()
        display = name or (format_phone(pairs[0][1]) if pairs[0][0] == "phone" else pairs[0][1])
        items.append(
            {
                "full_name": display[:255],
                "identities": pairs,
                "company": company,
                "position": rec.get("position", ""),
                "responsible": rec.get("responsible") or next(owners),
                "comment": rec.get("comment", ""),
            }
        )
    try:
        with transaction.atomic():
            made = crm.contacts_create_batch(actor=ctx.actor, items=items)
    except ConflictError:  # an identity taken by another writer meanwhile: row by row instead
        later = [row for row in parsed if row[0] not in results]
        fresh = []
        made = []
    for (number, _rec, _pairs, _company, result), contact in zip(fresh, made, strict=True):
        if isinstance(contact, Contact):
            result.objects.append([_label(contact), contact.pk, "created", []])
            results[number] = result
        else:
            error = _error(number, contact)
            error.objects = result.objects  # a company the row made stays undoable
            results[number] = error
    # The known people: who holds what after the new ones were made, and their rows, read once.
    ctx.known_holders = _holders([pair for n, _v, _r, pairs in parsed if n not in results for pair in pairs])
    ctx.contacts = Contact.objects.in_bulk(set(ctx.known_holders.values()))
    try:
        _apply_known_rows(ctx, later, results)
    finally:
        ctx.known_holders, ctx.contacts = {}, {}
    return [results[number] for number, _values in rows]


KnownRow = tuple[int, list[Any], dict[str, Any], list[tuple[str, str]]]


def _apply_known_rows(ctx: ImportContext, rows: list[KnownRow], results: dict[int, RowResult]) -> None:
    """Rows whose phone or e-mail is known, in file order, with the outcomes ``_contact_step``
    gives row by row; their writes go to ``crm.contacts_update_batch`` a run of rows at a time.

    A run ends before a row that touches a person of the run again or meets a phone or e-mail the
    run adds (that row must see the run written); a row whose people are unknown after all (their
    row failed) goes row by row."""
    run: list[tuple[RowResult, dict[str, Any]]] = []
    adding: set[tuple[str, str]] = set()

    def flush() -> None:
        if run:
            _write_known(ctx, run)
        run.clear()
        adding.clear()

    for number, values, rec, pairs in rows:
        held = ctx.known_holders
        if not any(p in held for p in pairs):
            flush()
            results[number] = apply_safely(ctx, number, values, "contacts")
            ctx.known_holders = {**held, **_holders(pairs)}
            ctx.contacts = {}
            continue
        ids = sorted({held[p] for p in pairs if p in held})
        if any(p in adding for p in pairs) or any(item["contact"].pk in ids for _r, item in run):
            flush()  # this row must see the run written: who holds what may have changed
            ids = sorted({ctx.known_holders[p] for p in pairs if p in ctx.known_holders})
        result = RowResult(row=number, outcome=Outcome.SKIPPED)
        results[number] = result
        try:
            item = _known_item(ctx, rec, pairs, ids, result)
        except (RowError, ValidationError, ConflictError) as exc:
            results[number] = error = _error(number, exc)
            error.objects = result.objects  # a company the row made stays undoable
            continue
        if item is not None:
            run.append((result, item))
            adding.update(item["identities"])
    flush()


def _known_item(
    ctx: ImportContext, rec: dict[str, Any], pairs: list[tuple[str, str]], ids: list[int], result: RowResult
) -> dict[str, Any] | None:
    """What a row of a known person changes (``contacts_update_batch``'s item), or None."""
    from django.db import transaction

    contact = _known_contact(ctx, ids, result)
    if ctx.job.dedupe == Dedupe.SKIP:
        _note(result, _("Already in Otdel: contact #%(id)s.") % {"id": contact.pk})
        return None
    company = None
    if rec.get("company") or rec.get("inn"):
        with transaction.atomic():
            company = _company_step(ctx, rec, result, 0, main=False)
    fields = {**rec, "full_name": rec.get("full_name", "").strip(), "company": company}
    changes = _fill(
        contact, fields, ("full_name", "position", "company", "responsible", "comment"), ctx.job.dedupe
    )
    new_pairs = [p for p in pairs if p not in ctx.known_holders]
    result.outcome = Outcome.UPDATED if changes else (Outcome.MERGED if new_pairs else Outcome.SKIPPED)
    if result.outcome == Outcome.SKIPPED:
        _note(result, _("Nothing new for contact #%(id)s.") % {"id": contact.pk})
        return None
    return {"contact": contact, "fields": changes, "identities": new_pairs}


def _write_known(ctx: ImportContext, run: list[tuple[RowResult, dict[str, Any]]]) -> None:
    from django.db import transaction

    try:
        with transaction.atomic():
            written = crm.contacts_update_batch(actor=ctx.actor, items=[item for _r, item in run])
    except ConflictError:  # an identity taken by another writer meanwhile: row by row instead
        ctx.contacts = {}
        written = []
        for _result, item in run:
            try:
                with transaction.atomic():
                    contact = Contact.objects.get(pk=item["contact"].pk)
                    written.append(
                        crm.contacts_update_batch(actor=ctx.actor, items=[{**item, "contact": contact}])[0]
                    )
            except ConflictError as exc:
                written.append(exc)
    for (result, item), rows in zip(run, written, strict=True):
        contact = item["contact"]
        if isinstance(rows, list):
            result.objects.append([_label(contact), contact.pk, "changed", [row.pk for row in rows]])
            ctx.known_holders.update(dict.fromkeys(item["identities"], contact.pk))
        else:
            error = _error(result.row, rows)
            result.outcome, result.field, result.message = error.outcome, error.field, error.message


def _deal_row(ctx: ImportContext, rec: dict[str, Any], result: RowResult, marker: int, number: int) -> None:
    if ctx.pipeline is None:
        raise RowError(TARGET_LABELS["stage"], _("Create a pipeline first."))
    contact = _contact_step(ctx, rec, result, marker, number, main=False)
    company = contact.company if contact is not None and contact.company_id else None
    if company is None and not ctx.dry:
        company = _company_step(ctx, rec, result, marker, main=False)
    elif company is None:
        _company_step(ctx, rec, result, marker, main=False)
    stage = rec.get("stage") or next((s for s in ctx.stages if s.kind == Stage.Kind.OPEN), None)
    result.outcome = Outcome.CREATED
    if ctx.dry:
        return
    title = rec.get("title") or (contact.full_name if contact else "") or (company.name if company else "")
    deal = crm.deal_create(
        actor=ctx.actor,
        title=title or _("Deal from import, row %(n)s") % {"n": number},
        pipeline=ctx.pipeline,
        stage=stage,
        lost_reason=ctx.lost_reason() if stage is not None and stage.kind == Stage.Kind.LOST else None,
        contact=contact,
        company=company,
        responsible=rec.get("responsible") or (contact.responsible if contact else None),
        amount=rec.get("amount") or 0,
        currency=rec.get("currency") or "RUB",
        expected_close=rec.get("expected_close"),
        custom_fields=rec["custom"],
    )
    result.objects.append([_label(deal), deal.pk, "created", []])
    if rec.get("comment"):
        crm.note_create(actor=ctx.actor, body=rec["comment"], deal=deal)


CHANNEL_OF_SOURCE: dict[str, str] = {
    LeadSource.CALL.value: Channel.CALL.value,
    LeadSource.EMAIL.value: Channel.EMAIL.value,
    LeadSource.FORM.value: Channel.FORM.value,
    LeadSource.MESSENGER.value: Channel.TELEGRAM.value,
}


def _lead_row(ctx: ImportContext, rec: dict[str, Any], result: RowResult, marker: int, number: int) -> None:
    if not (rec.get("full_name") or rec["phones"] or rec["emails"] or rec.get("telegram")):
        raise RowError(TARGET_LABELS["full_name"], _("Neither a name nor a phone or e-mail is given."))
    contact = _contact_step(ctx, rec, result, marker, number, main=False)
    result.outcome = Outcome.CREATED
    if ctx.dry or contact is None:
        return
    source = rec.get("source") or str(LeadSource.IMPORT)
    lead = crm.lead_create(
        actor=ctx.actor,
        contact=contact,
        source=source,
        channel=CHANNEL_OF_SOURCE.get(source, Channel.MANUAL.value),
        comment=rec.get("comment", ""),
        responsible=rec.get("responsible"),
        **{
            k: rec[k][:255]
            for k in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
            if rec.get(k)
        },
    )
    result.objects.append([_label(lead), lead.pk, "created", []])


# Product (the catalog, otdel.documents) field of each target.
PRODUCT_FIELDS = {
    "product_name": "name",
    "price": "price",
    "vat_rate": "vat_rate",
    "unit": "unit",
    "is_active": "is_active",
}


def _product_row(ctx: ImportContext, rec: dict[str, Any], result: RowResult, number: int) -> None:
    """A catalog row, found by its SKU; made and changed by the catalog's services (their checks:
    the VAT rate, the price, the lengths). A dry run writes the row and rolls it back."""
    from django.db import transaction

    from otdel.documents.models import Product

    sku = rec.get("sku", "")
    if not sku:
        raise RowError(_column_of(ctx, "sku"), _("The SKU is empty."))
    fields = {
        name: rec[target] for target, name in PRODUCT_FIELDS.items() if rec.get(target) not in (None, "")
    }
    product = Product.objects.filter(sku=sku).first()
    if ctx.dry:
        earlier = ctx.seen.setdefault(f"sku:{sku}", _("row %(n)s") % {"n": number})
        if product is None and earlier != _("row %(n)s") % {"n": number}:
            result.outcome = Outcome.SKIPPED if ctx.job.dedupe == Dedupe.SKIP else Outcome.UPDATED
            _note(result, _("The same SKU is on %(where)s.") % {"where": earlier})
            return
    try:
        with transaction.atomic():
            _product_write(ctx, product, sku, fields, result)
            if ctx.dry:
                result.objects = []
                transaction.set_rollback(True)
    except ValidationError as exc:  # the catalog's refusal, told by the column at fault
        field = next(iter(getattr(exc, "error_dict", {})), "")
        target = next((t for t, name in PRODUCT_FIELDS.items() if name == field), field)
        raise RowError(_column_of(ctx, target), " ".join(exc.messages)) from exc


def _product_write(
    ctx: ImportContext, product: Any, sku: str, fields: dict[str, Any], result: RowResult
) -> None:
    from otdel.documents import services as documents

    if product is None:
        product = documents.product_create(actor=ctx.actor, sku=sku, name=fields.pop("name", ""), **fields)
        result.outcome = Outcome.CREATED
        result.objects.append([_label(product), product.pk, "created", []])
        return
    if ctx.job.dedupe == Dedupe.SKIP:
        _note(result, _("Already in Otdel: product %(sku)s.") % {"sku": sku})
        return
    changes = {}
    for name, new in fields.items():
        old = getattr(product, name)
        empty = old in (None, "") or (name == "price" and not old)  # a price of 0 is one not given
        if (empty and ctx.job.dedupe == Dedupe.FILL) or (ctx.job.dedupe == Dedupe.OVERWRITE and old != new):
            changes[name] = new
    if not changes:
        _note(result, _("Nothing new for product %(sku)s.") % {"sku": sku})
        return
    marker = _marker()
    documents.product_update(actor=ctx.actor, product=product, **changes)
    result.outcome = Outcome.UPDATED
    result.objects.append([_label(product), product.pk, "changed", _changes_since(marker, product)])


def _column_of(ctx: ImportContext, target: str) -> str:
    """The file's column mapped to ``target`` (what a row error names), else the target's label."""
    index = next((i for i, t in ctx.mapping.items() if t == target), None)
    return _column_name(ctx, index) if index is not None else str(TARGET_LABELS.get(target, target))


def apply_safely(ctx: ImportContext, number: int, values: list[Any], kind: str) -> RowResult:
    """A row either applies whole or not at all (its own savepoint); failures become an error row."""
    from django.db import transaction

    try:
        with transaction.atomic():
            return apply_row(ctx, number, values, kind)
    except (RowError, ConflictError, ValidationError) as exc:
        return _error(number, exc)

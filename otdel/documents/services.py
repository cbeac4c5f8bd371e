"""Writes of the documents app: catalog, line items, our legal entities, numbering, templates, documents."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.core.changelog import check_version, record_change
from otdel.core.context import acting_as
from otdel.core.events import DocumentGenerated, emit
from otdel.core.exceptions import ConflictError, field_error
from otdel.core.models import ObjectChange
from otdel.crm.models import Deal
from otdel.documents import convert, rendering
from otdel.documents.context import deal_context, reference, sample_context
from otdel.documents.models import (
    UNITS,
    DealItem,
    Document,
    DocumentStatus,
    DocumentTemplate,
    DocumentVersion,
    LegalEntity,
    NumberingSequence,
    Product,
    VatRate,
)
from otdel.documents.money import Totals, line_amounts, sum_lines
from otdel.documents.numbering import number_issue, pattern_error
from otdel.documents.storage import file_read, file_save

logger = logging.getLogger(__name__)


def _save(instance: Any) -> None:
    instance.full_clean(validate_unique=False)
    instance.save()


def _decimal(field: str, value: Any, *, places: int = 2) -> Decimal:
    try:
        number = Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise field_error(field, _("Enter a number."), "invalid") from exc
    if not number.is_finite():
        raise field_error(field, _("Enter a number."), "invalid")
    return number.quantize(Decimal(1).scaleb(-places))


def vat_rate_clean(field: str, value: Any) -> str:
    """A VAT rate of the catalog and of deal lines (``VatRate``), or the error bound to ``field``."""
    rate = str(value if value is not None else "").strip()
    if rate not in VatRate.values:
        raise field_error(field, _("Choose a VAT rate: 20, 10, 0 or none."), "invalid")
    return rate


# --- catalog ----------------------------------------------------------------------------------

PRODUCT_FIELDS = {"sku", "name", "unit", "price", "vat_rate", "is_active"}


@transaction.atomic
def product_create(*, actor: Any, sku: str, name: str, **fields: Any) -> Product:
    with acting_as(actor):
        product = Product(sku=(sku or "").strip(), name=(name or "").strip())
        _product_apply(product, fields)
        if Product.objects.filter(sku=product.sku).exists():
            raise ConflictError(_("A product with this SKU already exists."), code="sku_taken", field="sku")
        _save(product)
        return product


@transaction.atomic
def product_update(
    *, actor: Any, product: Product, expected_version: int | None = None, **fields: Any
) -> Product:
    with acting_as(actor):
        check_version(product, expected_version)
        _product_apply(product, fields)
        if Product.objects.filter(sku=product.sku).exclude(pk=product.pk).exists():
            raise ConflictError(_("A product with this SKU already exists."), code="sku_taken", field="sku")
        _save(product)
        return product


def _product_apply(product: Product, fields: dict[str, Any]) -> None:
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    for name, value in fields.items():
        if name == "price":
            value = _decimal("price", value)
        elif name == "vat_rate":
            value = vat_rate_clean("vat_rate", value)
        elif name in ("sku", "name", "unit") and isinstance(value, str):
            value = value.strip()
        setattr(product, name, value)


# --- deal line items ---------------------------------------------------------------------------


def _item_from(data: dict[str, Any], position: int) -> DealItem:
    product = data.get("product")
    name = (data.get("name") or (product.name if product else "") or "").strip()
    if not name:
        raise field_error(f"items.{position}.name", _("Name the line or pick a product."), "required")
    quantity = _decimal(f"items.{position}.quantity", data.get("quantity", 1), places=3)
    price_source = data.get("price")
    if price_source in (None, "") and product is not None:
        price_source = product.price
    price = _decimal(f"items.{position}.price", price_source if price_source not in (None, "") else 0)
    discount = _decimal(f"items.{position}.discount_percent", data.get("discount_percent") or 0)
    vat_rate = vat_rate_clean(
        f"items.{position}.vat_rate", data.get("vat_rate") or (product.vat_rate if product else VatRate.VAT20)
    )
    unit = (data.get("unit") or (product.unit if product else "") or "шт").strip()[:16]
    problems = {}
    for key, text in (("name", name), ("unit", unit)):
        try:  # the web form's rows are read by hand, not by a form field that would refuse it
            ProhibitNullCharactersValidator()(text)
        except ValidationError as exc:
            problems[key] = exc.messages[0]
    if quantity <= 0:
        problems["quantity"] = _("The quantity must be greater than zero.")
    if price < 0:
        problems["price"] = _("The price cannot be negative.")
    if not Decimal(0) <= discount <= Decimal(100):
        problems["discount_percent"] = _("A discount is between 0 and 100%.")
    if problems:
        raise ValidationError({f"items.{position}.{k}": v for k, v in problems.items()})
    amounts = line_amounts(quantity=quantity, price=price, discount_percent=discount, vat_rate=vat_rate)
    return DealItem(
        position=position,
        product=product,
        name=name[:500],
        quantity=quantity,
        unit=unit,
        price=price,
        discount_percent=discount,
        vat_rate=vat_rate,
        total=amounts.total,
        vat=amounts.vat,
    )


def items_totals(items: Iterable[DealItem]) -> Totals:
    return sum_lines(
        line_amounts(
            quantity=i.quantity, price=i.price, discount_percent=i.discount_percent, vat_rate=i.vat_rate
        )
        for i in items
    )


@transaction.atomic
def deal_items_set(
    *, actor: Any, deal: Deal, items: list[dict[str, Any]], expected_version: int | None = None
) -> tuple[list[DealItem], Totals]:
    """Replace the deal's line items; the deal's amount becomes their gross total (when there are any).

    The deal row is locked first and its version checked, so two people saving the items at once
    cannot both win: the second gets 409 (stale_version) and reloads.
    """
    from otdel.crm.services import deal_update

    with acting_as(actor):
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        check_version(deal, expected_version)
        new_items = [_item_from(data, position) for position, data in enumerate(items)]
        totals = sum_lines(
            line_amounts(
                quantity=i.quantity, price=i.price, discount_percent=i.discount_percent, vat_rate=i.vat_rate
            )
            for i in new_items
        )
        old = [(i.name, str(i.quantity), str(i.price), str(i.total)) for i in deal.items.all()]
        deal.items.all().delete()
        for item in new_items:
            item.deal = deal
        DealItem.objects.bulk_create(new_items)
        if new_items and deal.amount != totals.gross:
            deal_update(actor=actor, deal=deal, amount=totals.gross)
        new = [(i.name, str(i.quantity), str(i.price), str(i.total)) for i in new_items]
        if old != new:
            record_change(deal, ObjectChange.Action.UPDATE, changes={"items": [old, new]}, user=actor)
        return new_items, totals


# --- our legal entities -------------------------------------------------------------------------


@transaction.atomic
def legal_entity_save(
    *, actor: Any, entity: LegalEntity | None = None, expected_version: int | None = None, **fields: Any
) -> LegalEntity:
    with acting_as(actor):
        if entity is None:
            entity = LegalEntity()
        else:
            check_version(entity, expected_version)
        unknown = set(fields) - {*LegalEntity.REQUISITES, "is_default"}
        if unknown:
            raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
        for name, value in fields.items():
            setattr(entity, name, value.strip() if isinstance(value, str) else value)
        if not LegalEntity.objects.exclude(pk=entity.pk).filter(is_default=True).exists():
            entity.is_default = True
        elif entity.is_default:
            LegalEntity.objects.exclude(pk=entity.pk).filter(is_default=True).update(is_default=False)
        _save(entity)
        return entity


@transaction.atomic
def my_company_set(*, actor: Any, expected_version: int | None = None, **fields: Any) -> LegalEntity:
    """``PUT /my-company``: the default legal entity's requisites (made on first call)."""
    entity = LegalEntity.objects.filter(is_default=True).first()
    return legal_entity_save(actor=actor, entity=entity, expected_version=expected_version, **fields)


# --- numbering ------------------------------------------------------------------------------------


@transaction.atomic
def numbering_create(
    *, actor: Any, code: str, pattern: str, reset: str = NumberingSequence.Reset.YEARLY, **fields: Any
) -> NumberingSequence:
    with acting_as(actor):
        code = (code or "").strip()
        if error := pattern_error(pattern or ""):
            raise field_error("pattern", error, "invalid_pattern")
        if NumberingSequence.objects.filter(code=code).exists():
            raise ConflictError(
                _("A numbering with this code already exists."), code="code_taken", field="code"
            )
        sequence = NumberingSequence(code=code, pattern=pattern, reset=reset, **fields)
        _save(sequence)
        record_change(
            sequence, ObjectChange.Action.CREATE, changes={"code": code, "pattern": pattern}, user=actor
        )
        return sequence


# --- templates ------------------------------------------------------------------------------------


def template_check(data: bytes, filename: str) -> list[str]:
    """Everything an upload must pass; returns the variables it uses or raises TemplateProblem."""
    rendering.docx_check(data, filename)
    variables = rendering.template_variables(data)
    known = {name for name, _d, _e in reference()}
    for name in variables:
        if name not in known and not any(k.startswith((name + ".", name + "[]")) for k in known):
            raise rendering.TemplateProblem(
                _("Unknown variable “%(name)s” in the template.") % {"name": name}, code="unknown_variable"
            )
    rendering.render_docx(data, sample_context(), timeout=10)
    return variables


@transaction.atomic
def template_create(
    *,
    actor: Any,
    data: bytes,
    filename: str,
    name: str,
    kind: str,
    numbering: NumberingSequence | None = None,
) -> DocumentTemplate:
    with acting_as(actor):
        try:
            variables = template_check(data, filename)
        except rendering.TemplateProblem as exc:
            raise field_error("file", exc.message, exc.code) from exc
        template = DocumentTemplate(
            name=(name or "").strip() or filename,
            kind=(kind or "").strip() or "other",
            numbering=numbering,
            original_name=filename[-255:],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            variables=variables,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        template.file = file_save("templates", filename, data)
        _save(template)
        return template


@transaction.atomic
def template_set_active(*, actor: Any, template: DocumentTemplate, active: bool) -> DocumentTemplate:
    """Switch a template on or off: an inactive one is not offered for new documents; the documents
    made from it keep it (their new versions still use it)."""
    with acting_as(actor):
        template = DocumentTemplate.objects.select_for_update().get(pk=template.pk)
        if template.is_active != active:
            template.is_active = active
            template.save()
        return template


def template_deactivate(*, actor: Any, template: DocumentTemplate) -> DocumentTemplate:
    return template_set_active(actor=actor, template=template, active=False)


@transaction.atomic
def template_new_version(
    *, actor: Any, template: DocumentTemplate, data: bytes, filename: str
) -> DocumentTemplate:
    """Replace the template's DOCX by a new file, checked like an upload. The old file stays in the
    storage (new documents and new versions use the new one); the change log keeps the old hash."""
    with acting_as(actor):
        try:
            variables = template_check(data, filename)
        except rendering.TemplateProblem as exc:
            raise field_error("file", exc.message, exc.code) from exc
        template = DocumentTemplate.objects.select_for_update().get(pk=template.pk)
        template.file = file_save("templates", filename, data)
        template.original_name = filename[-255:]
        template.size = len(data)
        template.sha256 = hashlib.sha256(data).hexdigest()
        template.variables = variables
        template.revision += 1
        template.uploaded_by = actor if getattr(actor, "pk", None) else None
        _save(template)
        return template


# --- documents ------------------------------------------------------------------------------------


def _enqueue(document: Document) -> None:
    from otdel.documents.tasks import document_generate_task

    document_id = document.pk
    transaction.on_commit(lambda: document_generate_task.enqueue(document_id))


@transaction.atomic
def document_create(
    *,
    actor: Any,
    deal: Deal,
    template: DocumentTemplate,
    format: str = "pdf",
    legal_entity: LegalEntity | None = None,
) -> Document:
    """A numbered document of ``deal``; the worker makes its files (status ``generating`` until then).

    The number is issued in this transaction and stays with the document: a failed generation is
    retried under the same number, so no number is lost.
    """
    with acting_as(actor):
        if format not in ("pdf", "docx"):
            raise field_error("format", _("Choose pdf or docx."), "invalid_format")
        if not template.is_active:
            raise field_error("template", _("This template is switched off."), "inactive")
        sequence = template.numbering
        if legal_entity is not None:
            sequence = numbering_for_entity(template, legal_entity)
        legal_entity = legal_entity or (sequence.legal_entity if sequence else None)
        legal_entity = legal_entity or LegalEntity.objects.filter(is_default=True).first()
        today = timezone.localdate()
        number = number_issue(sequence=sequence, date=today) if sequence else ""
        document = Document(
            deal=deal,
            template=template,
            legal_entity=legal_entity,
            numbering=sequence,
            kind=template.kind,
            title=template.name,
            number=number,
            date=today,
            format=format,
            status=DocumentStatus.GENERATING,
            author=actor if getattr(actor, "pk", None) else None,
            pending_version=1,
        )
        try:
            with transaction.atomic():
                document.save()
        except IntegrityError as exc:  # the sequence was reset by hand below issued numbers
            raise ConflictError(
                _("Number %(number)s is already taken by another document.") % {"number": number},
                code="number_taken",
                field="numbering",
            ) from exc
        _enqueue(document)
        return document


def numbering_for_entity(template: DocumentTemplate, entity: LegalEntity) -> NumberingSequence | None:
    """The numbering a document of ``template`` gets when issued by ``entity``: the template's own
    when it is shared or the entity's; else the entity's sequence of the same name (each legal entity
    keeps its own "Договоры", "Счета"...). None of them -> 400 naming ``legal_entity``."""
    sequence = template.numbering
    if sequence is None or sequence.legal_entity_id in (None, entity.pk):
        return sequence
    if sequence.name:
        own = NumberingSequence.objects.filter(legal_entity=entity, name=sequence.name).order_by("id").first()
        if own is not None:
            return own
    raise field_error(
        "legal_entity",
        _("%(entity)s has no numbering “%(numbering)s”; add one on the requisites page.")
        % {"entity": entity.name, "numbering": sequence.name or sequence.code},
        "no_numbering",
    )


def _restart(document: Document, *, new_version: bool) -> Document:
    if document.deleted_at is not None:
        raise ConflictError(_("The document was deleted."), code="deleted")
    if document.is_locked:
        raise ConflictError(
            _("The document is in approval; a new version can be made after the approval ends."),
            code="locked",
        )
    if document.status == DocumentStatus.GENERATING:
        raise ConflictError(_("The document is being generated right now."), code="generating")
    if document.status == DocumentStatus.APPROVED:
        # What was approved stays what it is: a new version would lose the approval's meaning.
        raise ConflictError(
            _("The document is approved and final; make a new document to change it."), code="approved"
        )
    if new_version or not document.pending_version:
        document.pending_version = document.current_version + 1
    document.status = DocumentStatus.GENERATING
    document.error = ""
    document.save()
    _enqueue(document)
    return document


@transaction.atomic
def document_regenerate(*, actor: Any, document: Document) -> Document:
    """A new version from the current deal data (409 while in approval or once approved)."""
    with acting_as(actor):
        document = Document.objects.select_for_update().get(pk=document.pk)
        return _restart(document, new_version=True)


@transaction.atomic
def document_retry(*, actor: Any, document: Document) -> Document:
    """Try a failed generation again, under the same number and version."""
    with acting_as(actor):
        document = Document.objects.select_for_update().get(pk=document.pk)
        if document.status != DocumentStatus.FAILED:
            raise ConflictError(_("Only a failed document can be retried."), code="not_failed")
        return _restart(document, new_version=False)


@transaction.atomic
def document_delete(*, actor: Any, document: Document) -> Document:
    """Soft delete: the document leaves the card, its files and number stay (change-log entry)."""
    with acting_as(actor):
        document = Document.objects.select_for_update().get(pk=document.pk)
        if document.is_locked:
            raise ConflictError(_("The document is in approval and cannot be deleted."), code="locked")
        if document.deleted_at is None:
            document.deleted_at = timezone.now()
            document.save()
            record_change(
                document, ObjectChange.Action.DELETE, changes={"number": document.number}, user=actor
            )
        return document


def _fail(document_id: int, version: int, message: str) -> None:
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document_id)
        if document.status != DocumentStatus.GENERATING or document.pending_version != version:
            return
        document.status = DocumentStatus.FAILED
        document.error = message[:2000]
        document.save()


def document_generate(*, document_id: int) -> Document | None:
    """The worker's part: fill in the template from the deal's current data, convert, store, mark ready.

    Runs outside a transaction (LibreOffice may take seconds); the result is committed only if the
    document is still waiting for this version. Any fault ends in ``failed`` with the reason.
    """
    document = (
        Document.objects.select_related(
            "deal", "deal__company", "deal__contact", "deal__responsible", "template"
        )
        .filter(pk=document_id)
        .first()
    )
    if document is None or document.status != DocumentStatus.GENERATING:
        return document
    version = document.pending_version
    try:
        items = list(document.deal.items.order_by("position", "id"))
        context = deal_context(
            deal=document.deal,
            items=items,
            legal_entity=document.legal_entity,
            number=document.number,
            date=document.date,
        )
        docx = rendering.render_docx(file_read(document.template.file), context)
        files: list[tuple[str, bytes, int | None, bytes | None]] = [("docx", docx, None, None)]
        if document.format == "pdf":
            pdf = convert.docx_to_pdf(docx)
            pages = convert.pdf_pages(pdf)
            if pages > convert.max_pages():
                raise convert.ConversionFailed(
                    _("The document has %(pages)s pages, more than the limit of %(limit)s.")
                    % {"pages": pages, "limit": convert.max_pages()},
                    code="too_many_pages",
                )
            files.append(("pdf", pdf, pages, convert.pdf_preview(pdf)))
    except (rendering.TemplateProblem, convert.ConversionFailed) as exc:
        _fail(document_id, version, exc.message)
        return Document.objects.get(pk=document_id)
    except Exception as exc:  # storage errors and the unforeseen: the document says so, the worker lives
        logger.exception("document %s generation failed", document_id)
        _fail(
            document_id,
            version,
            _("Generation failed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"[:300]},
        )
        return Document.objects.get(pk=document_id)
    base = f"{document.number or document.pk}".replace("/", "-")
    stored: list[tuple[str, str, str, str, int, int | None]] = []
    for fmt, data, page_count, preview in files:
        name = file_save("documents", f"{base}-v{version}.{fmt}", data)
        preview_name = file_save("previews", f"{base}-v{version}.png", preview) if preview else ""
        stored.append((fmt, name, preview_name, hashlib.sha256(data).hexdigest(), len(data), page_count))
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document_id)
        if document.status != DocumentStatus.GENERATING or document.pending_version != version:
            return document
        for fmt, name, preview_name, sha, size, page_count in stored:
            DocumentVersion.objects.create(
                document=document,
                version=version,
                format=fmt,
                file=name,
                preview=preview_name,
                sha256=sha,
                size=size,
                pages=page_count,
                author=document.author,
            )
        document.status = DocumentStatus.READY
        document.current_version = version
        document.pending_version = 0
        document.error = ""
        document.save()
        emit(DocumentGenerated(document_id=document.pk, deal_id=document.deal_id))
    return document


def document_file(
    *, document: Document, format: str, version: int | None = None
) -> tuple[DocumentVersion, bytes]:
    """The stored file of a version (the current one by default); 404-like ValidationError when missing."""
    versions = document.versions.filter(format=format)
    row = versions.filter(version=version).first() if version else versions.order_by("-version").first()
    if row is None:
        raise field_error("version", _("There is no such file of this document."), "not_found")
    if not row.file:  # erased with the person it named (152-FZ destruction)
        raise field_error("version", _("The file was destroyed with the personal data."), "destroyed")
    return row, file_read(row.file)


def send_defaults(document: Document) -> dict[str, Any]:
    """What the compose dialog starts with: the contact's e-mail addresses, a subject and a body."""
    contact = document.deal.contact
    addresses = (
        list(
            contact.identities.filter(kind="email")
            .order_by("-is_primary", "id")
            .values_list("value", flat=True)
        )
        if contact is not None
        else []
    )
    greeting = (
        _("Good afternoon, %(name)s!") % {"name": contact.full_name}
        if contact is not None and contact.full_name
        else _("Good afternoon!")
    )
    return {
        "addresses": addresses,
        "subject": str(document),
        "body": _("%(greeting)s\n\nPlease find attached: %(document)s.")
        % {"greeting": greeting, "document": document},
    }


def document_send(*, actor: Any, document: Document, subject: str = "", body: str = "", to: str = "") -> Any:
    """E-mail the current PDF (or DOCX) to the deal's contact through the e-mail channel (``to``: one
    of the contact's addresses; the primary one by default)."""
    from otdel.comms.email.send import email_send

    contact = document.deal.contact
    if contact is None:
        raise field_error("contact", _("The deal has no contact to send the document to."), "no_contact")
    if document.status == DocumentStatus.GENERATING or not document.current_version:
        raise ConflictError(_("The document is not ready yet."), code="not_ready")
    fmt = (
        "pdf" if document.versions.filter(format="pdf", version=document.current_version).exists() else "docx"
    )
    row, data = document_file(document=document, format=fmt, version=document.current_version)
    filename = f"{document.title} {document.number}".strip().replace("/", "-") + f".{fmt}"
    content_type = (
        "application/pdf"
        if fmt == "pdf"
        else ("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    )
    subject = subject.strip() or str(document)
    body = body.strip() or _("Good afternoon!\n\nPlease find attached: %(document)s.") % {
        "document": document
    }
    interaction = email_send(
        actor=actor,
        contact=contact,
        subject=subject,
        body=body,
        attachments=[(filename, data, content_type)],
        to=to,
    )
    with acting_as(actor):
        record_change(
            document,
            ObjectChange.Action.UPDATE,
            message=f"sent by e-mail: {row.format} v{row.version}",
            user=actor,
        )
    return interaction


UNIT_CHOICES = UNITS

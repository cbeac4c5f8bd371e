"""Pages of the documents app: the deal card's Documents block (htmx), catalog, templates, requisites."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.permissions import is_admin
from otdel.core.exceptions import ConflictError
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm.models import Deal
from otdel.documents import rendering, selectors, services
from otdel.documents.api.views import document_download_response
from otdel.documents.context import reference
from otdel.documents.models import (
    UNITS,
    Document,
    DocumentStatus,
    DocumentTemplate,
    LegalEntity,
    NumberingSequence,
    Product,
    VatRate,
)
from otdel.documents.storage import file_read


def _messages_of(exc: Exception) -> list[str]:
    if isinstance(exc, ConflictError):
        return [exc.message]
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [f"{m}" for errors in exc.message_dict.values() for m in errors]
        return list(exc.messages)
    return [str(exc)]


# --- the deal card block -------------------------------------------------------------------------


def _panel(
    request: HttpRequest,
    deal: Deal,
    *,
    errors: list[str] | None = None,
    rows: Any = None,
    amount_changed: bool = False,
) -> HttpResponse:
    user = request.user
    items: list[Any] = list(selectors.deal_items(user=user, deal=deal))
    documents = list(selectors.document_list(user=user, deal=deal))
    for document in documents:
        versions = list(document.versions.all())
        document.current_files = [v for v in versions if v.version == document.current_version]  # type: ignore[attr-defined]
        older = {v.version for v in versions if v.version != document.current_version}
        document.older_versions = sorted(older, reverse=True)  # type: ignore[attr-defined]
        document.preview = next((v for v in document.current_files if v.preview), None)  # type: ignore[attr-defined]
    can_change = scope(Deal.objects.filter(pk=deal.pk), user, "change").exists()
    return render(
        request,
        "documents/_deal_panel.html",
        {
            "deal": deal,
            # After a refused save the user's own input is shown again, to correct it.
            "items": items
            if rows is None
            else [{**row, "product_id": getattr(row.get("product"), "pk", "")} for row in rows],
            "totals": services.items_totals(items),
            "documents": documents,
            "templates": selectors.template_list(user=user),
            "products": selectors.product_list(user=user, active_only=True)[:500],
            "vat_rates": VatRate.choices,
            "units": UNITS,
            "errors": errors or [],
            "can_change": can_change,
            "polling": any(d.status == DocumentStatus.GENERATING for d in documents),
            "legal_entities": list(selectors.legal_entity_list(user=user)),
            "amount_changed": amount_changed,
        },
    )


def _deal(request: HttpRequest, pk: int, action: str = "view") -> Deal:
    return get_scoped_or_404(Deal.objects.select_related("company", "contact"), request.user, action, pk=pk)


@login_required
def deal_block(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, _deal(request, pk))


def _rows_from_post(request: HttpRequest) -> list[dict[str, Any]]:
    post = request.POST
    names = post.getlist("name")
    rows = []
    products = {
        p.pk: p
        for p in Product.objects.filter(pk__in=[int(x) for x in post.getlist("product") if x.isdigit()])
    }
    for index, name in enumerate(names):

        def value(key: str, default: str = "", i: int = index) -> str:
            values = post.getlist(key)
            return values[i].strip() if i < len(values) else default

        product_id = value("product")
        row = {
            "product": products.get(int(product_id)) if product_id.isdigit() else None,
            "name": name.strip(),
            "quantity": value("quantity", "1").replace(",", ".") or "1",
            "unit": value("unit"),
            "price": value("price").replace(",", ".").replace(" ", "").replace("\u00a0", "") or None,
            "discount_percent": value("discount_percent", "0").replace(",", ".") or "0",
            "vat_rate": value("vat_rate"),
        }
        if row["name"] or row["product"]:
            rows.append(row)
    return rows


@login_required
@require_POST
def deal_items_save(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal(request, pk, "change")
    rows = _rows_from_post(request)
    if request.POST.get("add_product", "").isdigit():
        product = Product.objects.filter(pk=int(request.POST["add_product"]), is_active=True).first()
        if product is not None:
            rows.append({"product": product, "name": product.name, "quantity": "1"})
    version = request.POST.get("version")
    try:
        services.deal_items_set(
            actor=request.user,
            deal=deal,
            items=rows,
            expected_version=int(version) if version and version.isdigit() else None,
        )
    except (ValidationError, ConflictError) as exc:
        return _panel(request, deal, errors=_messages_of(exc), rows=rows)
    deal.refresh_from_db()
    return _panel(request, deal, amount_changed=True)


@login_required
@require_POST
def document_generate(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal(request, pk, "change")
    template = selectors.template_list(user=request.user).filter(pk=request.POST.get("template") or 0).first()
    if template is None:
        return _panel(request, deal, errors=[_("Choose a template.")])
    entity_id = request.POST.get("legal_entity", "")
    entity = (
        selectors.legal_entity_list(user=request.user).filter(pk=int(entity_id)).first()
        if entity_id.isdigit()
        else None
    )
    try:
        services.document_create(
            actor=request.user,
            deal=deal,
            template=template,
            format=request.POST.get("format") or "pdf",
            legal_entity=entity,
        )
    except (ValidationError, ConflictError) as exc:
        return _panel(request, deal, errors=_messages_of(exc))
    return _panel(request, deal)


def _document(request: HttpRequest, pk: int, action: str = "view") -> Document:
    return get_scoped_or_404(
        Document.objects.filter(deleted_at__isnull=True).select_related("deal"), request.user, action, pk=pk
    )


@login_required
@require_POST
def document_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    document = _document(request, pk, "change")
    deal = _deal(request, document.deal_id)
    try:
        if action == "retry":
            services.document_retry(actor=request.user, document=document)
        elif action == "regenerate":
            services.document_regenerate(actor=request.user, document=document)
        elif action == "delete":
            services.document_delete(actor=request.user, document=document)
        elif action == "send":
            services.document_send(
                actor=request.user,
                document=document,
                subject=request.POST.get("subject", ""),
                body=request.POST.get("body", ""),
            )
            messages.success(request, _("The document was sent by e-mail."))
        else:
            raise Http404
    except (ValidationError, ConflictError) as exc:
        return _panel(request, deal, errors=_messages_of(exc))
    return _panel(request, deal)


@login_required
def document_compose(request: HttpRequest, pk: int) -> HttpResponse:
    """The e-mail dialog: recipient from the contact's addresses, subject and body to edit, the PDF
    attached. GET shows it; POST sends through the e-mail channel (on the client's timeline)."""
    document = _document(request, pk, "change")
    deal = _deal(request, document.deal_id)
    defaults = services.send_defaults(document)
    values = {"to": "", "subject": defaults["subject"], "body": defaults["body"]}
    errors: list[str] = []
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in ("to", "subject", "body")}
        # In the dialog an emptied field is a mistake, not a wish for the default text.
        if not values["subject"].strip():
            errors.append(_("Enter a subject."))
        if not values["body"].strip():
            errors.append(_("Write the message."))
        if not errors:
            try:
                services.document_send(actor=request.user, document=document, **values)
            except (ValidationError, ConflictError) as exc:
                errors = _messages_of(exc)
            else:
                return render(request, "documents/_compose_sent.html", {"deal": deal, "to": values["to"]})
    files = list(document.versions.filter(version=document.current_version))
    return render(
        request,
        "documents/_compose_form.html" if request.method == "POST" else "documents/_compose.html",
        {
            "document": document,
            "deal": deal,
            "addresses": defaults["addresses"],
            "values": values,
            "errors": errors,
            "attachment": next((v for v in files if v.format == "pdf"), files[0] if files else None),
        },
    )


@login_required
def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document(request, pk)
    return document_download_response(document, request.GET.get("format"), request.GET.get("version"))


@login_required
def document_preview(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    document = _document(request, pk)
    row = document.versions.filter(version=version).exclude(preview="").first()
    if row is None:
        raise Http404
    return HttpResponse(file_read(row.preview), content_type="image/png")


# --- catalog ---------------------------------------------------------------------------------------


def _can_keep_catalog(user: Any) -> bool:
    return bool(getattr(user, "is_admin", False) or getattr(user, "is_head_of_sales", False))


def _field_errors(exc: Exception) -> dict[str, list[str]]:
    """A refusal as messages per form field (``form`` for the rest: templates cannot read ``__all__``)."""
    if isinstance(exc, ConflictError):
        found = {exc.field or "__all__": [exc.message]}
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        found = {name: [str(m) for m in messages_] for name, messages_ in exc.message_dict.items()}
    else:
        found = {"__all__": _messages_of(exc)}
    if "__all__" in found:
        found["form"] = found.pop("__all__")
    return found


PRODUCT_INPUT = ("sku", "name", "unit", "price", "vat_rate")


def _product_values(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "").strip() for name in PRODUCT_INPUT}


def _catalog_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    q = request.GET.get("q", "")
    return {
        "products": selectors.product_list(user=request.user, q=q)[:200],
        "q": q,
        "vat_rates": VatRate.choices,
        "units": UNITS,
        "can_edit": _can_keep_catalog(request.user),
        "values": {"unit": "шт", "vat_rate": VatRate.VAT20},
        "field_errors": {},
        **extra,
    }


@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    """The catalog with search; heads of sales and administrators add products here."""
    if request.method == "POST":
        if not _can_keep_catalog(request.user):
            raise PermissionDenied
        values = _product_values(request)
        try:
            product = services.product_create(
                actor=request.user,
                sku=values["sku"],
                name=values["name"],
                unit=values["unit"] or "шт",
                price=values["price"] or "0",
                vat_rate=values["vat_rate"] or VatRate.VAT20,
            )
        except (ValidationError, ConflictError) as exc:
            # The user's input is shown again with the reasons next to the fields.
            context = _catalog_context(request, values=values, field_errors=_field_errors(exc))
            return render(request, "documents/catalog.html", context, status=400)
        messages.success(request, _("Product “%(name)s” added.") % {"name": product.name})
        return redirect("documents_catalog")
    return render(request, "documents/catalog.html", _catalog_context(request))


def _product(request: HttpRequest, pk: int) -> Product:
    if not _can_keep_catalog(request.user):
        raise PermissionDenied
    product = selectors.product_list(user=request.user).filter(pk=pk).first()
    if product is None:
        raise Http404
    return product


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a product (optimistic locking: a stale form says so and keeps the input)."""
    product = _product(request, pk)
    values: dict[str, Any] = {name: getattr(product, name) for name in PRODUCT_INPUT}
    field_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _product_values(request)
        version = request.POST.get("version", "")
        try:
            services.product_update(
                actor=request.user,
                product=product,
                expected_version=int(version) if version.isdigit() else None,
                **{**values, "unit": values["unit"] or "шт", "price": values["price"] or "0"},
            )
        except (ValidationError, ConflictError) as exc:
            field_errors = _field_errors(exc)
            product.refresh_from_db()
        else:
            messages.success(request, _("Product “%(name)s” saved.") % {"name": product.name})
            return redirect("documents_catalog")
    return render(
        request,
        "documents/product_edit.html",
        {
            "product": product,
            "values": values,
            "field_errors": field_errors,
            "vat_rates": VatRate.choices,
            "units": UNITS,
        },
        status=400 if field_errors else 200,
    )


@login_required
@require_POST
def product_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (or bring back) a product: an inactive one is not offered for new line items;
    the deals that have it keep their lines."""
    product = _product(request, pk)
    active = request.POST.get("active") == "1"
    services.product_update(actor=request.user, product=product, is_active=active)
    if active:
        messages.success(request, _("Product “%(name)s” is active again.") % {"name": product.name})
    else:
        messages.success(request, _("Product “%(name)s” deactivated.") % {"name": product.name})
    return redirect(f"{reverse('documents_catalog')}?q={request.POST.get('q', '')}")


# --- templates, requisites, numbering (administrators) ---------------------------------------------


@login_required
def templates_page(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        if not is_admin(request.user):
            raise PermissionDenied
        upload = request.FILES.get("file")
        if upload is None:
            errors = [_("Choose a .docx file.")]
        else:
            numbering = NumberingSequence.objects.filter(pk=request.POST.get("numbering") or 0).first()
            try:
                template = services.template_create(
                    actor=request.user,
                    data=upload.read(),
                    filename=upload.name or "template.docx",
                    name=request.POST.get("name", ""),
                    kind=request.POST.get("kind", ""),
                    numbering=numbering,
                )
            except (ValidationError, ConflictError) as exc:
                errors = _messages_of(exc)
            else:
                messages.success(request, _("Template “%(name)s” uploaded.") % {"name": template.name})
                return redirect("documents_templates")
    return _templates_render(request, errors)


def _templates_render(request: HttpRequest, errors: list[str], status: int = 200) -> HttpResponse:
    return render(
        request,
        "documents/templates.html",
        {
            "templates": selectors.template_list(user=request.user, active_only=False),
            "numberings": selectors.numbering_list(user=request.user),
            "reference": reference(),
            "errors": errors,
        },
        status=400 if errors and request.method == "POST" else status,
    )


def _template_for_admin(request: HttpRequest, pk: int) -> DocumentTemplate:
    if not is_admin(request.user):
        raise PermissionDenied
    return get_scoped_or_404(DocumentTemplate.objects.all(), request.user, pk=pk)


@login_required
@require_POST
def template_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a template on or off (an inactive one is not offered on the deal card)."""
    template = _template_for_admin(request, pk)
    active = request.POST.get("active") == "1"
    services.template_set_active(actor=request.user, template=template, active=active)
    if active:
        messages.success(request, _("Template “%(name)s” is switched on.") % {"name": template.name})
    else:
        messages.success(request, _("Template “%(name)s” is switched off.") % {"name": template.name})
    return redirect("documents_templates")


@login_required
@require_POST
def template_upload_version(request: HttpRequest, pk: int) -> HttpResponse:
    """A new file for a template, checked like an upload; a refusal names the problem."""
    template = _template_for_admin(request, pk)
    upload = request.FILES.get("file")
    errors: list[str] = []
    if upload is None:
        errors = [_("Choose a .docx file.")]
    elif upload.size and upload.size > rendering.MAX_TEMPLATE_BYTES:
        errors = [_("The file is too large for a template.")]
    else:
        try:
            template = services.template_new_version(
                actor=request.user,
                template=template,
                data=upload.read(),
                filename=upload.name or "template.docx",
            )
        except (ValidationError, ConflictError) as exc:
            errors = _messages_of(exc)
    if errors:
        return _templates_render(request, [f"{template.name}: {e}" for e in errors], status=400)
    messages.success(
        request,
        _("Template “%(name)s”: version %(n)s uploaded.") % {"name": template.name, "n": template.revision},
    )
    return redirect("documents_templates")


@login_required
def template_download(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_scoped_or_404(DocumentTemplate.objects.all(), request.user, pk=pk)
    response = HttpResponse(
        file_read(template.file),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["Content-Disposition"] = f'attachment; filename="template-{template.pk}.docx"'
    return response


@login_required
def requisites_page(request: HttpRequest) -> HttpResponse:
    """Our legal entities (one or several, ``?entity=<id>`` or ``?entity=new``) and their numbering."""
    entities = list(selectors.legal_entity_list(user=request.user))
    chosen = request.GET.get("entity") or request.POST.get("entity") or ""
    adding = chosen == "new"
    entity = None if adding else next((e for e in entities if str(e.pk) == chosen), None)
    if entity is None and not adding:
        entity = selectors.legal_entity_default()
    errors: list[str] = []
    values: dict[str, Any] = {name: getattr(entity, name, "") for name in LegalEntity.REQUISITES}
    here = f"{reverse('documents_requisites')}?entity={entity.pk if entity else 'new'}"
    if request.method == "POST":
        if not is_admin(request.user):
            raise PermissionDenied
        if request.POST.get("form") == "numbering":
            try:
                services.numbering_create(
                    actor=request.user,
                    code=request.POST.get("code", ""),
                    pattern=request.POST.get("pattern", ""),
                    reset=request.POST.get("reset") or NumberingSequence.Reset.YEARLY,
                    name=request.POST.get("name", "").strip(),
                    legal_entity=entity,
                )
            except (ValidationError, ConflictError) as exc:
                errors = _messages_of(exc)
            else:
                messages.success(request, _("Numbering added."))
                return redirect(here)
        else:
            values = {name: request.POST.get(name, "") for name in LegalEntity.REQUISITES}
            try:
                entity = services.legal_entity_save(actor=request.user, entity=entity, **values)
            except (ValidationError, ConflictError) as exc:
                errors = _messages_of(exc)
            else:
                messages.success(request, _("Requisites saved."))
                return redirect(f"{reverse('documents_requisites')}?entity={entity.pk}")
    labels = [
        (name, LegalEntity._meta.get_field(name).verbose_name, values.get(name, ""))  # type: ignore[union-attr]
        for name in LegalEntity.REQUISITES
    ]
    return render(
        request,
        "documents/requisites.html",
        {
            "entity": entity,
            "entities": entities,
            "adding": adding,
            "fields": labels,
            "errors": errors,
            "numberings": selectors.numbering_list(user=request.user),
            "resets": NumberingSequence.Reset.choices,
        },
        status=400 if errors else 200,
    )

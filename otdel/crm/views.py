"""CRM pages: the deals kanban, lists, cards and forms of deals, contacts, companies, leads; search."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from otdel.accounts.models import Role
from otdel.accounts.permissions import is_admin, may_see_team, may_sell, signed_in
from otdel.core.exceptions import ConflictError
from otdel.core.identity import format_phone, guess_identity
from otdel.core.models import ObjectChange
from otdel.core.retranslate import retranslate
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm import search as search_service
from otdel.crm import selectors, services
from otdel.crm.filtersets import CompanyFilterSet, ContactFilterSet, DealFilterSet, LeadFilterSet
from otdel.crm.forms import (
    CompanyForm,
    ContactForm,
    DealForm,
    LeadCreateForm,
    MergeForm,
    NoteForm,
    TriageForm,
    choices_from,
    sales_users,
    style_form,
    use_picker,
)
from otdel.crm.models import (
    Company,
    Contact,
    Deal,
    Lead,
    LostReason,
    NonTargetReason,
    Pipeline,
    Stage,
    Verdict,
)
from otdel.crm.paging import KeysetPage, web_page
from otdel.crm.templatetags.crm_tags import money_text
from otdel.routing import triage
from otdel.web import setup
from otdel.web.http import TIMELINE_REFRESH_EVENT, form_save, int_or_none, is_htmx, redirect_back

KANBAN_PAGE = 20
LIST_PAGE = 50
PICK_LIMIT = 10
CARD_LIST = 20


def _paginate(request: HttpRequest, queryset: QuerySet[Any], per_page: int = LIST_PAGE) -> KeysetPage:
    """Keyset pages (crm.paging): page 3001 costs what page 1 costs; counts stop at 10 000."""
    return web_page(request, queryset, per_page)


def _head(queryset: QuerySet[Any], size: int = CARD_LIST) -> dict[str, Any]:
    """The first rows for a card's side list, and whether there are more (then it links to the list)."""
    rows = list(queryset[: size + 1])
    return {"rows": rows[:size], "more": len(rows) > size}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Salespeople start on "My day" (automation); administrators on the deals; approvers (legal,
    finance) on what awaits their approval; the office manager and call center on the lead inbox."""
    user = request.user
    if is_admin(user) and setup.needs_setup():
        return redirect("setup")  # an empty database: the setup checklist first
    if user.is_sales:  # type: ignore[union-attr]
        return redirect("my_day")
    if may_sell(user):
        return redirect("kanban")
    if user.role == Role.APPROVER:  # type: ignore[union-attr]
        return redirect("approvals_inbox")
    return redirect("lead_inbox")


# --- kanban ----------------------------------------------------------------------------------


def _kanban_filters(params: Any) -> dict[str, Any]:
    return {"responsible": int_or_none(params.get("responsible")), "q": (params.get("q") or "").strip()}


def _column_json(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "stage": c["stage"].pk,
            "count": c["count"],
            "count_text": formats.number_format(c["count"], force_grouping=True),
            "total": money_text(c["total"]),
        }
        for c in columns
    ]


@login_required
def kanban(request: HttpRequest) -> HttpResponse:
    user = request.user
    pipelines = list(scope(Pipeline.objects.filter(is_active=True), user))
    wanted = int_or_none(request.GET.get("pipeline"))
    pipeline = next((p for p in pipelines if p.pk == wanted), None)
    pipeline = (
        pipeline
        or next((p for p in pipelines if p.is_default), None)
        or (pipelines[0] if pipelines else None)
    )
    filters = _kanban_filters(request.GET)
    columns: list[dict[str, Any]] = []
    if pipeline is not None:
        columns = selectors.kanban_columns(user=user, pipeline=pipeline, filters=filters)
        for column in columns:
            # Only the first page of each column: 100k deals must not come to the page at once.
            column["deals"] = selectors.kanban_page(
                user=user, stage=column["stage"], limit=KANBAN_PAGE, filters=filters
            )
            column["more"] = column["count"] > len(column["deals"])
    can_filter_responsible = may_see_team(user)
    return render(
        request,
        "crm/kanban.html",
        {
            "pipelines": pipelines,
            "pipeline": pipeline,
            "columns": columns,
            "filters": filters,
            "page_size": KANBAN_PAGE,
            "responsibles": list(sales_users()) if can_filter_responsible else [],
            "lost_reasons": list(LostReason.objects.filter(is_active=True)),
        },
    )


@login_required
def kanban_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """One more page of cards of a column (htmx, "load more" or scrolled into view)."""
    stage = get_scoped_or_404(Stage.objects.all(), request.user, pk=stage_id)
    offset = max(int_or_none(request.GET.get("offset")) or 0, 0)
    filters = _kanban_filters(request.GET)
    deals = selectors.kanban_page(
        user=request.user, stage=stage, offset=offset, limit=KANBAN_PAGE + 1, filters=filters
    )
    return render(
        request,
        "crm/_kanban_cards.html",
        {
            "stage": stage,
            "deals": deals[:KANBAN_PAGE],
            "more": len(deals) > KANBAN_PAGE,
            "filters": filters,
            "oob": True,
        },
    )


@login_required
@require_POST
def deal_quick_add(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Quick add at the top of a kanban column: a title (and an amount) make a deal in that stage; the
    new card comes back (htmx), the column totals in a header."""
    user = signed_in(request)
    if not may_sell(user):
        raise PermissionDenied
    stage = get_scoped_or_404(Stage.objects.select_related("pipeline"), user, pk=stage_id)
    title = (request.POST.get("title") or "").strip()
    if not title:
        return JsonResponse(
            {"errors": {"title": [_("Give the deal a title.")]}, "message": _("Give the deal a title.")},
            status=400,
        )
    fields: dict[str, Any] = {}
    amount = (
        (request.POST.get("amount") or "").strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    )
    if amount:
        try:
            fields["amount"] = Decimal(amount)
        except InvalidOperation:
            fields["amount"] = None
        if fields["amount"] is None or not fields["amount"].is_finite():
            return JsonResponse(
                {"errors": {"amount": [_("Enter a number.")]}, "message": _("Enter a number.")}, status=400
            )
    try:
        deal = services.deal_create(actor=user, title=title, pipeline=stage.pipeline, stage=stage, **fields)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        message = " ".join(m for msgs in errors.values() for m in msgs)
        return JsonResponse({"errors": errors, "message": message}, status=400)
    deal = selectors.with_card_facts(Deal.objects.filter(pk=deal.pk)).select_related("stage").get()
    response = render(request, "crm/_kanban_card.html", {"deal": deal})
    columns = selectors.kanban_columns(
        user=user, pipeline=stage.pipeline, filters=_kanban_filters(request.POST)
    )
    response["X-Kanban-Columns"] = json.dumps(_column_json(columns), ensure_ascii=True)
    return response


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> JsonResponse:
    """A kanban drop: JSON in, JSON out (new column totals, or the reason it was refused)."""
    user = signed_in(request)
    deal = get_scoped_or_404(Deal.objects.select_related("pipeline", "stage"), user, "change", pk=pk)
    stage = scope(Stage.objects.all(), user).filter(pk=int_or_none(request.POST.get("stage")) or 0).first()
    if stage is None:
        return JsonResponse(
            {"errors": {"stage": [_("Choose a stage.")]}, "message": _("Choose a stage.")}, status=400
        )
    visible = selectors.deal_list(user=user)
    before = visible.filter(pk=int_or_none(request.POST.get("before")) or 0, stage=stage).first()
    after = visible.filter(pk=int_or_none(request.POST.get("after")) or 0, stage=stage).first()
    lost_reason = LostReason.objects.filter(
        pk=int_or_none(request.POST.get("lost_reason")) or 0, is_active=True
    ).first()
    options: dict[str, Any] = {
        "lost_reason": lost_reason,
        "lost_comment": (request.POST.get("lost_comment") or "").strip(),
        "expected_version": int_or_none(request.POST.get("version")),
    }
    try:
        if before is None and after is not None:
            deal = services.deal_move_below(actor=user, deal=deal, stage=stage, after=after, **options)
        else:
            deal = services.deal_move(actor=user, deal=deal, stage=stage, before=before, **options)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return JsonResponse(
            {"errors": errors, "message": " ".join(m for msgs in errors.values() for m in msgs)}, status=400
        )
    except ConflictError as exc:
        return JsonResponse({"errors": {exc.field: [exc.message]}, "message": exc.message}, status=409)
    columns = selectors.kanban_columns(
        user=user, pipeline=deal.pipeline, filters=_kanban_filters(request.POST)
    )
    return JsonResponse(
        {
            "deal": {"id": deal.pk, "stage": deal.stage_id, "version": deal.version},
            "columns": _column_json(columns),
        }
    )


# --- deals -----------------------------------------------------------------------------------


def _deal_form(request: HttpRequest, data: Any = None, **kwargs: Any) -> DealForm:
    user = request.user
    return DealForm(
        data,
        pipelines=scope(Pipeline.objects.filter(is_active=True), user),
        contacts=selectors.contact_list(user=user),
        companies=selectors.company_list(user=user),
        **kwargs,
    )


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = DealFilterSet(
        request.GET, queryset=selectors.deal_list(user=user).order_by("-created_at", "-id")
    )
    form = style_form(filterset.form)
    use_picker(form.fields["contact"], "contact_pick", selectors.contact_list(user=user))
    use_picker(form.fields["company"], "company_pick", selectors.company_list(user=user))
    return render(
        request, "crm/deal_list.html", {"filter_form": form, "page": _paginate(request, filterset.qs)}
    )


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_scoped_or_404(
        Deal.objects.select_related("pipeline", "stage", "contact", "company", "responsible", "lost_reason"),
        request.user,
        pk=pk,
    )
    leads = selectors.lead_list(user=request.user).filter(deal=deal)
    return render(
        request,
        "crm/deal_detail.html",
        {
            "deal": deal,
            "stages": deal.pipeline.stages.all(),
            "can_move": scope(Deal.objects.filter(pk=deal.pk), request.user, "change").exists(),
            "lost_reasons": list(LostReason.objects.filter(is_active=True)),
            "leads": leads,
            "history": history_rows(request.user, deal),
        },
    )


@login_required
def deal_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if request.method == "POST":
        form = _deal_form(request, request.POST)
        deal = form_save(form, lambda: services.deal_create(actor=user, **form.service_fields()))
        if deal is not None:
            messages.success(request, _("Deal “%(title)s” created.") % {"title": deal.title})
            if selectors.deal_list(user=user).filter(pk=deal.pk).exists():
                return redirect("deal_detail", pk=deal.pk)
            return redirect("kanban")
    else:
        initial = {
            "pipeline": int_or_none(request.GET.get("pipeline")),
            "stage": int_or_none(request.GET.get("stage")),
            "contact": int_or_none(request.GET.get("contact")),
            "company": int_or_none(request.GET.get("company")),
            "responsible": user.pk if user.is_sales else None,  # type: ignore[union-attr]
            "currency": "RUB",
        }
        if initial["pipeline"] is None:
            default = (
                scope(Pipeline.objects.filter(is_active=True), user).order_by("-is_default", "order").first()
            )
            initial["pipeline"] = default.pk if default else None
        form = _deal_form(request, initial=initial)
    return render(request, "crm/deal_form.html", {"form": form, "deal": None})


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    deal = get_scoped_or_404(Deal.objects.select_related("pipeline", "stage"), user, "change", pk=pk)
    if request.method == "POST":
        form = _deal_form(request, request.POST, deal=deal)
        saved = form_save(
            form,
            lambda: services.deal_update(
                actor=user,
                deal=deal,
                expected_version=form.cleaned_data.get("version"),
                **form.service_fields(),
            ),
        )
        if saved is not None:
            messages.success(request, _("Deal saved."))
            if selectors.deal_list(user=user).filter(pk=deal.pk).exists():
                return redirect("deal_detail", pk=deal.pk)
            return redirect("kanban")
    else:
        initial = {
            "title": deal.title,
            "stage": deal.stage_id,
            "contact": deal.contact_id,
            "company": deal.company_id,
            "responsible": deal.responsible_id,
            "amount": deal.amount,
            "currency": deal.currency,
            "expected_close": deal.expected_close,
            "lost_reason": deal.lost_reason_id,
            "lost_comment": deal.lost_comment,
            "version": deal.version,
        }
        form = _deal_form(request, initial=initial, deal=deal)
    return render(request, "crm/deal_form.html", {"form": form, "deal": deal})


# --- contacts --------------------------------------------------------------------------------


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = ContactFilterSet(request.GET, queryset=selectors.contact_list(user=user))
    form = style_form(filterset.form)
    use_picker(form.fields["company"], "company_pick", selectors.company_list(user=user))
    choices_from(form.fields["responsible"], sales_users())
    return render(
        request, "crm/contact_list.html", {"filter_form": form, "page": _paginate(request, filterset.qs)}
    )


def _surviving_contact_id(pk: int) -> int | None:
    """Follow merge tombstones to the contact that holds the data now (None if ``pk`` is unknown)."""
    seen: set[int] = set()
    current: int | None = pk
    while current is not None and current not in seen:
        seen.add(current)
        row = Contact.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        if row is None:
            return current if Contact.objects.filter(pk=current).exists() else None
        current = row
    return current


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    survivor = _surviving_contact_id(pk)
    if survivor is None:
        raise Http404
    if survivor != pk:
        get_scoped_or_404(Contact.objects.all(), user, pk=survivor)
        return redirect("contact_detail", pk=survivor)
    contact = get_scoped_or_404(Contact.objects.select_related("company", "responsible"), user, pk=pk)
    return render(
        request,
        "crm/contact_detail.html",
        {
            "contact": contact,
            "identities": contact.identities.all(),
            "deals": _head(selectors.deal_list(user=user).filter(contact=contact).order_by("-created_at")),
            "leads": _head(selectors.lead_list(user=user).filter(contact=contact)),
            "merge_form": MergeForm(contacts=selectors.contact_list(user=user).exclude(pk=contact.pk)),
            "history": history_rows(user, contact),
        },
    )


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    companies = selectors.company_list(user=user)
    if request.method == "POST":
        form = ContactForm(request.POST, companies=companies)
        contact = form_save(
            form,
            lambda: services.contact_create(
                actor=user, identities=form.identities(), **form.service_fields()
            ),
        )
        if contact is not None:
            messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.full_name})
            if selectors.contact_list(user=user).filter(pk=contact.pk).exists():
                return redirect("contact_detail", pk=contact.pk)
            return redirect("contact_list")
    else:
        initial = {"company": int_or_none(request.GET.get("company"))}
        if user.is_sales:  # type: ignore[union-attr]
            initial["responsible"] = user.pk
        form = ContactForm(initial=initial, companies=companies)
    return render(request, "crm/contact_form.html", {"form": form, "contact": None})


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    contact = get_scoped_or_404(Contact.objects.filter(merged_into__isnull=True), user, "change", pk=pk)
    companies = selectors.company_list(user=user)
    if request.method == "POST":
        form = ContactForm(request.POST, companies=companies, contact=contact)
        saved = form_save(
            form,
            lambda: services.contact_update(
                actor=user,
                contact=contact,
                expected_version=form.cleaned_data.get("version"),
                identities=form.identities(),
                **form.service_fields(),
            ),
        )
        if saved is not None:
            messages.success(request, _("Contact saved."))
            if selectors.contact_list(user=user).filter(pk=contact.pk).exists():
                return redirect("contact_detail", pk=contact.pk)
            return redirect("contact_list")
    else:
        form = ContactForm(companies=companies, contact=contact)
    return render(request, "crm/contact_form.html", {"form": form, "contact": contact})


@login_required
@require_POST
def contact_merge(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    source = get_scoped_or_404(Contact.objects.filter(merged_into__isnull=True), user, "change", pk=pk)
    form = MergeForm(request.POST, contacts=selectors.contact_list(user=user).exclude(pk=source.pk))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("contact_detail", pk=source.pk)
    target = form.cleaned_data["target"]
    try:
        services.contact_merge(actor=user, source=source, target=target)
    except (ValidationError, ConflictError) as exc:
        for message in exc.messages if isinstance(exc, ValidationError) else [exc.message]:
            messages.error(request, message)
        return redirect("contact_detail", pk=source.pk)
    messages.success(
        request,
        _("“%(source)s” was merged into “%(target)s”.")
        % {"source": source.full_name, "target": target.full_name},
    )
    return redirect("contact_detail", pk=target.pk)


@login_required
def contact_pick(request: HttpRequest) -> HttpResponse:
    """Search results for a contact picker: name, company, phone in any format or e-mail."""
    text = (request.GET.get("q") or "").strip()
    found = (
        selectors.global_search(user=request.user, text=text, limit=PICK_LIMIT)["contacts"] if text else []
    )
    return render(request, "crm/_pick_results.html", {"objects": found, "kind": "contact", "query": text})


@login_required
def company_pick(request: HttpRequest) -> HttpResponse:
    text = (request.GET.get("q") or "").strip()
    found = (
        selectors.global_search(user=request.user, text=text, limit=PICK_LIMIT)["companies"] if text else []
    )
    return render(request, "crm/_pick_results.html", {"objects": found, "kind": "company", "query": text})


# --- companies -------------------------------------------------------------------------------


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    filterset = CompanyFilterSet(
        request.GET, queryset=selectors.company_list(user=request.user).order_by("name", "id")
    )
    form = style_form(filterset.form)
    choices_from(form.fields["responsible"], sales_users())
    return render(
        request, "crm/company_list.html", {"filter_form": form, "page": _paginate(request, filterset.qs)}
    )


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    company = get_scoped_or_404(Company.objects.select_related("responsible"), user, pk=pk)
    return render(
        request,
        "crm/company_detail.html",
        {
            "company": company,
            "contacts": _head(selectors.contact_list(user=user).filter(company=company)),
            "deals": _head(selectors.deal_list(user=user).filter(company=company).order_by("-created_at")),
            **_notes_context(request, "company", company),
            "history": history_rows(user, company),
        },
    )


@login_required
def company_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if request.method == "POST":
        form = CompanyForm(request.POST)
        company = form_save(form, lambda: services.company_create(actor=user, **form.service_fields()))
        if company is not None:
            messages.success(request, _("Company “%(name)s” created.") % {"name": company.name})
            if selectors.company_list(user=user).filter(pk=company.pk).exists():
                return redirect("company_detail", pk=company.pk)
            return redirect("company_list")
    else:
        owner = user.pk if getattr(user, "is_sales", False) else None
        form = CompanyForm(initial={"responsible": owner})
    return render(request, "crm/company_form.html", {"form": form, "company": None})


@login_required
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    company = get_scoped_or_404(Company.objects.all(), user, "change", pk=pk)
    if request.method == "POST":
        form = CompanyForm(request.POST, company=company)
        saved = form_save(
            form,
            lambda: services.company_update(
                actor=user,
                company=company,
                expected_version=form.cleaned_data.get("version"),
                **form.service_fields(),
            ),
        )
        if saved is not None:
            messages.success(request, _("Company saved."))
            return redirect("company_detail", pk=company.pk)
    else:
        form = CompanyForm(company=company)
    return render(request, "crm/company_form.html", {"form": form, "company": company})


# --- notes -----------------------------------------------------------------------------------

NOTE_SUBJECTS: dict[str, type[models.Model]] = {"deal": Deal, "contact": Contact, "company": Company}


def _notes_context(
    request: HttpRequest, subject: str, obj: models.Model, form: NoteForm | None = None
) -> dict:
    return {
        "notes": obj.notes.select_related("author"),  # type: ignore[attr-defined]
        "note_form": form or NoteForm(),
        "note_url": reverse(f"{subject}_note_add", kwargs={"pk": obj.pk}),
    }


@login_required
@require_POST
def note_add(request: HttpRequest, subject: str, pk: int) -> HttpResponse:
    """Add a note to a deal, contact or company; htmx gets the notes block back, others a redirect."""
    model = NOTE_SUBJECTS[subject]
    obj: Any = get_scoped_or_404(model._default_manager.all(), request.user, "change", pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.note_create(actor=signed_in(request), body=form.cleaned_data["body"], **{subject: obj})
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            form = NoteForm()
    if not request.htmx:  # type: ignore[attr-defined]
        for error in form.errors.get("body", []):
            messages.error(request, str(error))
        return redirect(f"{subject}_detail", pk=pk)
    # 200 with the errors in the block: htmx swaps only successful responses.
    return render(request, "crm/_notes.html", _notes_context(request, subject, obj, form))


# --- leads -----------------------------------------------------------------------------------


def _lead_queryset(user: Any) -> QuerySet[Lead]:
    return selectors.lead_list(user=user).prefetch_related("contact__identities")


def _triage_form(request: HttpRequest, lead: Lead, data: Any = None) -> TriageForm:
    contacts = selectors.contact_list(user=request.user).exclude(pk=lead.contact_id)
    return TriageForm(data, contacts=contacts, prefix=f"lead{lead.pk}")


@login_required
def lead_inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    page = _paginate(request, selectors.lead_inbox(user=user).prefetch_related("contact__identities"))
    rows = [{"lead": lead, "form": _triage_form(request, lead)} for lead in page.object_list]
    return render(request, "crm/lead_inbox.html", {"page": page, "rows": rows})


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = LeadFilterSet(request.GET, queryset=_lead_queryset(user))
    form = style_form(filterset.form)
    use_picker(form.fields["contact"], "contact_pick", selectors.contact_list(user=user))
    choices_from(form.fields["responsible"], sales_users())
    return render(
        request, "crm/lead_list.html", {"filter_form": form, "page": _paginate(request, filterset.qs)}
    )


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = get_scoped_or_404(_lead_queryset(user), user, pk=pk)
    return render(
        request,
        "crm/lead_detail.html",
        {
            "lead": lead,
            "form": _triage_form(request, lead) if not lead.verdict else None,
            "history": history_rows(user, lead),
        },
    )


@login_required
@require_POST
def lead_triage(request: HttpRequest, pk: int) -> HttpResponse:
    """A triage button: htmx swaps the inbox row with the outcome (or the row with its errors)."""
    user = signed_in(request)
    lead = get_scoped_or_404(_lead_queryset(user), user, "change", pk=pk)
    form = _triage_form(request, lead, request.POST)
    if form.is_valid():
        try:
            lead = triage.lead_triage(
                actor=user,
                lead=lead,
                verdict=form.cleaned_data["verdict"],
                reason=form.cleaned_data.get("reason") or "",
                duplicate_of=form.cleaned_data.get("duplicate_of"),
            )
        except (ValidationError, ConflictError) as exc:
            form.add_service_error(exc)
    if not request.htmx:  # type: ignore[attr-defined]
        if form.errors:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Lead #%(id)s: %(verdict)s.") % {"id": lead.pk, "verdict": lead.get_verdict_display()},
            )
        next_url = request.POST.get("next") or ""
        safe = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
        if safe and selectors.lead_list(user=user).filter(pk=lead.pk).exists():
            return redirect(next_url)
        return redirect("lead_inbox")
    deal_visible = (
        lead.deal_id is not None and selectors.deal_list(user=user).filter(pk=lead.deal_id).exists()
    )
    return render(
        request,
        "crm/_lead_row.html",
        {"row": {"lead": lead, "form": form, "done": not form.errors, "deal_visible": deal_visible}},
    )


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    contacts = selectors.contact_list(user=user)
    if request.method == "POST":
        form = LeadCreateForm(request.POST, contacts=contacts)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # A new person and their first request are one act: both or neither.
                with transaction.atomic():
                    contact = data["contact"] or services.contact_create(
                        actor=user,
                        full_name=data["full_name"],
                        identities=form.new_contact_identities(),
                        responsible=user if user.is_sales else None,  # type: ignore[union-attr]
                    )
                    lead = services.lead_create(
                        actor=user,
                        contact=contact,
                        source=data["source"],
                        channel=data["channel"],
                        comment=data["comment"],
                    )
            except (ValidationError, ConflictError) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Lead #%(id)s created.") % {"id": lead.pk})
                if selectors.lead_list(user=user).filter(pk=lead.pk).exists():
                    return redirect("lead_detail", pk=lead.pk)
                return redirect("lead_inbox")
    else:
        form = LeadCreateForm(initial={"contact": int_or_none(request.GET.get("contact"))}, contacts=contacts)
    return render(request, "crm/lead_form.html", {"form": form})


# --- search ----------------------------------------------------------------------------------


@login_required
def search(request: HttpRequest) -> HttpResponseBase:
    """The search page; a phone or e-mail that matches exactly one client opens that client's card."""
    text = (request.GET.get("q") or "").strip()
    found = search_service.find(user=request.user, text=text, limit=20)
    if guess_identity(text) is not None and len(found.groups["contacts"]) == 1:
        return redirect("contact_detail", pk=found.groups["contacts"][0].pk)
    return render(
        request,
        "crm/search.html",
        {
            "found": found,
            "results": found.objects,
            "search_query": text,
            "total": found.total,
            "too_short": 0 < len(text) < 2,
        },
    )


SUGGEST_REST = ("companies", "deals", "leads")


@login_required
def search_suggest(request: HttpRequest) -> HttpResponse:
    """The top bar's drop-down as you type (htmx): a few of each kind, best first.

    A phone (whole or its last digits) or a known e-mail answers with the people holding it at once;
    their companies, deals and leads follow in a second request the drop-down makes on arrival
    (``?rest=1``), so the client on the line shows up as fast as the PBX's own lookup allows."""
    text = (request.GET.get("q") or "").strip()
    query = search_service.parse(text)
    if request.GET.get("rest") == "1":
        rest = search_service.find(user=request.user, text=query, limit=5, kinds=SUGGEST_REST, hits_only=True)
        return render(request, "crm/_search_suggest_sections.html", {"found": rest})
    rest_url = ""
    holders = None
    if query.by_identity:
        holders = search_service.find(
            user=request.user, text=query, limit=5, kinds=("contacts",), hits_only=True
        )
        if holders.total:
            rest_url = f"{reverse('search_suggest')}?{urlencode({'q': text, 'rest': '1'})}"
    # Nobody (the user may see) holds it: look at every kind now.
    found = (
        holders
        if rest_url and holders
        else search_service.find(user=request.user, text=query, limit=5, hits_only=True)
    )
    context = {"found": found, "search_query": text, "rest_url": rest_url}
    return render(request, "crm/_search_suggest.html", context)


# --- history ---------------------------------------------------------------------------------

# Keys that services log which are not model fields.
EXTRA_LABELS = {
    "identity_added": gettext_lazy("Phone or e-mail added"),
    "identity_removed": gettext_lazy("Phone or e-mail removed"),
    "verdict": gettext_lazy("Verdict"),
    "reason": gettext_lazy("Reason"),
}
# Fields whose changes say nothing to a person (ordering on the board, denormalized search text).
HIDDEN_FIELDS = {"position", "search_text", "version"}


def _field(model: type[models.Model], name: str) -> models.Field | None:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


REASON_FIELDS = {"verdict_reason", "non_target_reason", "reason"}
# Messages other apps write into the change log as plain codes, shown in the viewer's language.
HISTORY_MESSAGES = {
    "consent entered": gettext_lazy("Consent entered"),
    "consent withdrawn": gettext_lazy("Consent withdrawn"),
    "consent text changed": gettext_lazy("Consent text changed"),
    "purpose rule set": gettext_lazy("What the consent allows was changed"),
    "personal data destroyed": gettext_lazy("Personal data destroyed"),
}


def _history_message(message: str) -> str:
    """A stored message in the viewer's language (it was written in the writer's)."""
    known = HISTORY_MESSAGES.get(message)
    return str(known) if known is not None else retranslate(message)


def _reason_text(value: Any) -> str:
    """A non-target reason reads as its label ("Поставщик"), not its code ("supplier")."""
    return str(dict(NonTargetReason.choices).get(str(value), value))


def _display(field: models.Field | None, value: Any, names: dict[Any, dict[Any, str]]) -> str:
    if value in (None, ""):
        return "—"
    if field is not None and field.name in REASON_FIELDS and not field.choices:
        return _reason_text(value)
    if field is None:
        text = str(value)
        return format_phone(text) if text.startswith("+") else text
    if field.is_relation and field.related_model is not None:
        return names.get(field.related_model, {}).get(value) or f"#{value}"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("yes") if value else _("no")
    if isinstance(field, models.DecimalField):
        return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    if isinstance(field, models.DateTimeField):
        moment = parse_datetime(str(value))
        return (
            formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else str(value)
        )
    if isinstance(field, models.DateField):
        day = parse_date(str(value))
        return formats.date_format(day, "SHORT_DATE_FORMAT") if day else str(value)
    return str(value)


def custom_diffs(model: type[models.Model], old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """History rows of a change of ``custom``: the fields' names and values as the card shows them."""
    from otdel.crm.custom import definitions, display_value, entity_of

    fields = {f.code: f for f in definitions(entity_of(model), active_only=False)}
    rows = []
    for code in [*old, *(c for c in new if c not in old)]:
        if old.get(code) == new.get(code):
            continue
        field = fields.get(code)
        values = [old.get(code), new.get(code)]
        if field is not None:
            texts = [display_value(field, v) or "—" for v in values]
        else:
            texts = ["—" if v is None else str(v) for v in values]
        rows.append({"label": field.name if field else code, "old": texts[0], "new": texts[1]})
    return rows


def history_rows(user: Any, instance: models.Model) -> list[dict[str, Any]]:
    """The record's change log, newest first, with readable field names and old -> new values."""
    model = type(instance)
    changes: list[ObjectChange] = selectors.object_history(user=user, instance=instance)
    wanted: dict[Any, set[Any]] = defaultdict(set)
    for change in changes:
        if change.action != ObjectChange.Action.UPDATE:
            continue
        for name, pair in change.changes.items():
            field = _field(model, name)
            if field is not None and field.is_relation and isinstance(pair, list):
                wanted[field.related_model].update(v for v in pair if v is not None)
    names: dict[Any, dict[Any, str]] = {
        related: {obj.pk: str(obj) for obj in related._base_manager.filter(pk__in=ids)}
        for related, ids in wanted.items()
    }
    rows = []
    for change in changes:
        diffs: list[dict[str, Any]] = []
        if change.action == ObjectChange.Action.UPDATE:
            for name, pair in change.changes.items():
                field = _field(model, name)
                if name in HIDDEN_FIELDS or not isinstance(pair, list) or len(pair) != 2:
                    continue
                if name == "custom":  # one row per custom field that changed, under its own name
                    diffs.extend(custom_diffs(model, pair[0] or {}, pair[1] or {}))
                    continue
                label = field.verbose_name if field is not None else EXTRA_LABELS.get(name, name)
                diffs.append(
                    {
                        "label": str(label),
                        "old": _display(field, pair[0], names),
                        "new": _display(field, pair[1], names),
                    }
                )
            if not diffs:
                continue  # only hidden fields changed (a reorder on the board)
        elif change.action == ObjectChange.Action.TRIAGE:
            verdict = change.changes.get("verdict")
            diffs.append(
                {
                    "label": str(EXTRA_LABELS["verdict"]),
                    "old": None,
                    "new": str(dict(Verdict.choices).get(verdict, verdict or "—")),
                }
            )
            if change.changes.get("reason"):
                reason = change.changes["reason"]
                diffs.append({"label": str(EXTRA_LABELS["reason"]), "old": None, "new": _reason_text(reason)})
        rows.append(
            {
                "at": change.at,
                "user_name": change.user_name or _("system"),
                "action": change.get_action_display(),
                "action_code": change.action,
                "message": _history_message(change.message),
                "diffs": diffs,
            }
        )
    return rows


# --- tasks -----------------------------------------------------------------------------------


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(selectors.task_list(user=request.user), pk=pk)
    services.task_complete(actor=signed_in(request), task=task)
    if not is_htmx(request):
        messages.success(request, _("Task done: %(title)s") % {"title": task.title})
        return redirect_back(request, "comms_inbox")
    response = HttpResponse("")
    response["HX-Trigger"] = TIMELINE_REFRESH_EVENT
    return response

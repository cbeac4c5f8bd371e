"""Pages of personal data work: the processing register, subject requests, retention proposals,
destruction acts, the access log, breaches, and the consent actions of a contact card."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.views import admin_required
from otdel.core.context import acting_as
from otdel.core.net import client_ip
from otdel.privacy import selectors
from otdel.privacy.access import pd_access_record
from otdel.privacy.api.views import _contact_by_identity
from otdel.privacy.destruction import contact_destroy
from otdel.privacy.forms import (
    BreachForm,
    BreachInvestigationForm,
    CloseForm,
    ConsentPurposeForm,
    DestroyForm,
    ExtendForm,
    ManualConsentForm,
    SubjectRequestForm,
)
from otdel.privacy.models import (
    AccessAction,
    BreachIncident,
    ConsentPurpose,
    DestructionAct,
    DestructionProposal,
    ProcessingUse,
    PurposeRule,
    SubjectRequest,
)
from otdel.privacy.notices import breach_notices
from otdel.privacy.register import CATEGORIES, processing_register
from otdel.privacy.services import (
    breach_create,
    breach_mark_sent,
    consent_purpose_save,
    consent_record_manual,
    consent_withdraw,
    subject_request_close,
    subject_request_create,
    subject_request_extend,
    subject_request_withdraw_all,
)

PAGE = 50


@admin_required
def overview(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    open_requests = SubjectRequest.objects.filter(status=SubjectRequest.Status.OPEN)
    return render(
        request,
        "privacy/overview.html",
        {
            "privacy_tab": "overview",
            "open_requests": open_requests.count(),
            "overdue_requests": open_requests.filter(due_at__lt=today).count(),
            "proposals": DestructionProposal.objects.filter(
                status=DestructionProposal.Status.PROPOSED
            ).count(),
            "open_breaches": BreachIncident.objects.filter(notice_72h_sent_at__isnull=True).count(),
            "acts": DestructionAct.objects.count(),
        },
    )


@admin_required
def register_page(request: HttpRequest) -> HttpResponse:
    rules = {r.purpose_id: r for r in PurposeRule.objects.all()}
    purposes = []
    for purpose in ConsentPurpose.objects.order_by("code"):
        rule = rules.get(purpose.pk)
        purposes.append(
            {
                "purpose": purpose,
                "rule": rule,
                "uses": [
                    ProcessingUse(u).label for u in (rule.uses if rule else []) if u in ProcessingUse.values
                ],
                "categories": [CATEGORIES[c] for c in (rule.categories if rule else []) if c in CATEGORIES],
            }
        )
    return render(
        request,
        "privacy/register.html",
        {"privacy_tab": "register", "rows": processing_register(), "purposes": purposes},
    )


@admin_required
def consent_list(request: HttpRequest) -> HttpResponse:
    """The consent register: every consent given, by purpose, how, and whether it was withdrawn."""
    from otdel.privacy.models import Consent

    qs = Consent.objects.select_related("contact", "purpose", "text").order_by("-given_at", "-id")
    purpose = request.GET.get("purpose", "")
    state = request.GET.get("state", "")
    if purpose:
        qs = qs.filter(purpose__code=purpose)
    if state == "active":
        qs = qs.filter(withdrawn_at__isnull=True)
    elif state == "withdrawn":
        qs = qs.filter(withdrawn_at__isnull=False)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/consents.html",
        {
            "privacy_tab": "consents",
            "page": page,
            "purposes": ConsentPurpose.objects.order_by("code"),
            "purpose": purpose,
            "state": state,
        },
    )


# --- subject requests ----------------------------------------------------------------------------


@admin_required
def request_list(request: HttpRequest) -> HttpResponse:
    form = SubjectRequestForm(request.POST or None, initial={"received_at": timezone.localtime()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = None
            if data.get("contact"):
                contact = selectors.contact_for(user=request.user, pk=data["contact"])
            elif data.get("identity"):
                contact = _contact_by_identity(data["identity"])
            obj = subject_request_create(
                actor=request.user,
                kind=data["kind"],
                received_at=data["received_at"],
                contact=contact,
                requester=data.get("requester") or (data.get("identity") or ""),
                details=data.get("details") or "",
            )
        except (ValidationError, Http404) as exc:
            if isinstance(exc, Http404):
                form.add_error("contact", _("No such contact."))
            else:
                form.add_service_error(exc)
        else:
            messages.success(
                request, _("Request registered; answer by %(date)s.") % {"date": f"{obj.due_at:%d.%m.%Y}"}
            )
            return redirect("privacy_request", pk=obj.pk)
    status = request.GET.get("status", "open")
    qs = selectors.subject_request_list(user=request.user, status="" if status == "all" else status)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/requests.html",
        {
            "privacy_tab": "requests",
            "page": page,
            "form": form,
            "status": status,
            "today": timezone.localdate(),
        },
    )


@admin_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(selectors.subject_request_list(user=request.user), pk=pk)
    extend_form = ExtendForm(prefix="extend")
    close_form = CloseForm(prefix="close")
    destroy_form = DestroyForm(
        prefix="destroy", initial={"reason": _("Request of the subject #%(id)s") % {"id": obj.pk}}
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "extend":
                extend_form = ExtendForm(request.POST, prefix="extend")
                if extend_form.is_valid():
                    subject_request_extend(
                        actor=request.user, request=obj, reason=extend_form.cleaned_data["reason"]
                    )
                    return redirect("privacy_request", pk=pk)
            elif action == "close":
                close_form = CloseForm(request.POST, prefix="close")
                if close_form.is_valid():
                    subject_request_close(actor=request.user, request=obj, **close_form.cleaned_data)
                    return redirect("privacy_request", pk=pk)
            elif action == "withdraw":
                n = subject_request_withdraw_all(actor=request.user, request=obj)
                messages.success(request, _("Consents withdrawn: %(n)s.") % {"n": n})
                return redirect("privacy_request", pk=pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return render(
        request,
        "privacy/request_detail.html",
        {
            "privacy_tab": "requests",
            "obj": obj,
            "extend_form": extend_form,
            "close_form": close_form,
            "destroy_form": destroy_form,
            "overdue": obj.status == SubjectRequest.Status.OPEN and obj.due_at < timezone.localdate(),
        },
    )


@admin_required
def request_export(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(selectors.subject_request_list(user=request.user), pk=pk)
    if obj.contact is None:
        raise Http404
    body = selectors.person_zip(obj.contact)
    pd_access_record(
        user=request.user,
        action=AccessAction.EXPORT,
        contact=obj.contact,
        query=f"subject-request:{obj.pk}",
        row_count=1,
        path=request.path,
        ip=client_ip(request),
    )
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="subject-request-{obj.pk}.zip"'
    return response


# --- retention and destruction -------------------------------------------------------------------


@admin_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        proposal = get_object_or_404(DestructionProposal, pk=request.POST.get("proposal"))
        if proposal.status == DestructionProposal.Status.PROPOSED and proposal.contact is not None:
            if request.POST.get("action") == "confirm":
                act = contact_destroy(actor=request.user, contact=proposal.contact, reason=proposal.reason)
                messages.success(request, _("Destroyed; act %(number)s.") % {"number": act.number})
            elif request.POST.get("action") == "dismiss":
                DestructionProposal.objects.filter(pk=proposal.pk).update(
                    status=DestructionProposal.Status.DISMISSED,
                    decided_by=request.user,
                    decided_at=timezone.now(),
                )
        return redirect("privacy_proposals")
    qs = DestructionProposal.objects.select_related("contact", "decided_by").order_by("status", "-created_at")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(request, "privacy/proposals.html", {"privacy_tab": "proposals", "page": page})


@admin_required
def act_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(DestructionAct.objects.select_related("destroyed_by"), PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "privacy/acts.html", {"privacy_tab": "acts", "page": page})


@admin_required
def act_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    act = get_object_or_404(DestructionAct, pk=pk)
    if not act.pdf:
        raise Http404
    response: Any = FileResponse(
        act.pdf.open("rb"), content_type="application/pdf", filename=f"{act.number}.pdf"
    )
    return response


@admin_required
@require_POST
def contact_destroy_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_for(user=request.user, pk=pk, action="change")
    form = DestroyForm(request.POST, prefix="destroy")
    if not form.is_valid():
        messages.error(request, _("Give the reason for destruction (it goes into the act)."))
        return redirect("contact_detail", pk=pk)
    try:
        act = contact_destroy(actor=request.user, contact=contact, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("contact_detail", pk=pk)
    messages.success(request, _("The person's data was destroyed; act %(number)s.") % {"number": act.number})
    return redirect("privacy_acts")


# --- access log ----------------------------------------------------------------------------------


@admin_required
def access_log(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("contact", "")
    contact_id = int(raw) if raw.isdigit() else None
    qs = selectors.access_log_list(user=request.user, contact=contact_id).select_related("user")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request, "privacy/access_log.html", {"privacy_tab": "access", "page": page, "contact_id": contact_id}
    )


# --- breaches ------------------------------------------------------------------------------------


@admin_required
def breach_list(request: HttpRequest) -> HttpResponse:
    form = BreachForm(request.POST or None, initial={"found_at": timezone.localtime()})
    if request.method == "POST" and form.is_valid():
        incident = breach_create(actor=request.user, **form.cleaned_data)
        return redirect("privacy_breach", pk=incident.pk)
    rows = [(b, selectors.breach_deadlines(b)) for b in BreachIncident.objects.order_by("-found_at")[:200]]
    return render(request, "privacy/breaches.html", {"privacy_tab": "breaches", "rows": rows, "form": form})


@admin_required
def breach_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(BreachIncident, pk=pk)
    form = BreachInvestigationForm(
        request.POST if request.POST.get("action") == "investigation" else None,
        initial={"investigation": incident.investigation, "culprits": incident.culprits},
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("24h", "72h"):
            breach_mark_sent(actor=request.user, incident=incident, notice=action)
            return redirect("privacy_breach", pk=pk)
        if action == "investigation" and form.is_valid():
            with transaction.atomic(), acting_as(request.user):
                incident.investigation = form.cleaned_data["investigation"]
                incident.culprits = form.cleaned_data["culprits"]
                incident.save()
            return redirect("privacy_breach", pk=pk)
    return render(
        request,
        "privacy/breach_detail.html",
        {
            "privacy_tab": "breaches",
            "incident": incident,
            "deadlines": selectors.breach_deadlines(incident),
            "notices": breach_notices(incident),
            "form": form,
        },
    )


# --- contact card actions ------------------------------------------------------------------------


@login_required
@require_POST
def consent_withdraw_view(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    contact = selectors.contact_for(user=request.user, pk=pk)
    purpose = get_object_or_404(ConsentPurpose, code=code)
    consent_withdraw(actor=request.user, contact=contact, purpose=purpose, source="card")
    messages.success(request, _("Consent “%(purpose)s” withdrawn.") % {"purpose": purpose.title})
    return redirect("contact_detail", pk=pk)


@login_required
@require_POST
def consent_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_for(user=request.user, pk=pk)
    form = ManualConsentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            consent_record_manual(
                actor=request.user,
                contact=contact,
                purpose=form.cleaned_data["purpose"],
                given_at=form.cleaned_data["given_at"],
                scan=form.cleaned_data["scan"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Paper consent recorded."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("contact_detail", pk=pk)


@login_required
def consent_scan(request: HttpRequest, pk: int) -> FileResponse:
    from otdel.privacy.models import ConsentScan

    scan = get_object_or_404(ConsentScan.objects.select_related("consent"), consent_id=pk)
    selectors.contact_for(user=request.user, pk=scan.consent.contact_id)
    pd_access_record(
        user=request.user,
        action=AccessAction.VIEW,
        contact=scan.consent.contact_id,
        query="consent scan",
        path=request.path,
    )
    return FileResponse(scan.file.open("rb"), filename=scan.filename)


@login_required
def consent_proof_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Proof of one consent as a JSON file: wording version and text, SHA-256, when, how, from where."""
    import json

    from otdel.privacy.models import Consent

    consent = get_object_or_404(Consent.objects.select_related("purpose", "text", "recorded_by"), pk=pk)
    selectors.contact_for(user=request.user, pk=consent.contact_id)
    body = json.dumps(selectors.consent_proof(consent), ensure_ascii=False, indent=2)
    pd_access_record(
        user=request.user,
        action=AccessAction.EXPORT,
        contact=consent.contact_id,
        query=f"consent proof:{consent.pk}",
        row_count=1,
        path=request.path,
        ip=client_ip(request),
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="consent-{consent.pk}.json"'
    return response


def card_context(contact: Any, user: Any) -> dict[str, Any]:
    """What the contact card's privacy block shows (used by the template tag)."""
    consents = list(selectors.contact_consents(contact=contact))
    return {
        "pd_act": DestructionAct.objects.filter(contact=contact).first(),
        "pd_contact": contact,
        "pd_consents": consents,
        "pd_form": ManualConsentForm(initial={"given_at": timezone.localtime()}),
        "pd_destroy_form": DestroyForm(prefix="destroy"),
        "pd_user": user,
    }


# --- consent purposes and their texts -------------------------------------------------------------


@admin_required
def purpose_list(request: HttpRequest) -> HttpResponse:
    purposes = (
        ConsentPurpose.objects.select_related("rule")
        .annotate(consent_count=Count("consents"), version_count=Count("texts", distinct=True))
        .order_by("code")
    )
    return render(request, "privacy/purposes.html", {"privacy_tab": "purposes", "purposes": purposes})


@admin_required
def purpose_edit(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Make a purpose or change it: a changed wording is a new text version, the old stays."""
    purpose = get_object_or_404(ConsentPurpose, code=code) if code is not None else None
    form = ConsentPurposeForm(request.POST or None, purpose=purpose)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = consent_purpose_save(
                actor=request.user,
                code=purpose.code if purpose else data["code"],
                title=data["title"],
                text=data["text"],
                is_active=data["is_active"],
                legal_basis=data["legal_basis"],
                uses=data["uses"],
                categories=data["categories"],
                description=data["description"],
                retention_months=data["retention_months"],
                must_be_new=purpose is None,
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            if saved.new_version and not saved.created:
                messages.success(
                    request,
                    _("Saved; the text is now version %(version)s, consents given earlier keep theirs.")
                    % {"version": saved.text.version},
                )
            else:
                messages.success(request, _("Saved."))
            return redirect("privacy_purpose", code=saved.purpose.code)
    texts = purpose.texts.annotate(consent_count=Count("consents")).order_by("-version") if purpose else []
    return render(
        request,
        "privacy/purpose_form.html",
        {"privacy_tab": "purposes", "form": form, "purpose": purpose, "texts": texts},
    )

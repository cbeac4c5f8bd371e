"""Pages of approvals: "Awaiting my approval", one approval with the PDF and the decision buttons, the
route editor, department inboxes, and the deal card's block (documents' approval, requests)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from otdel.accounts.models import Department, Role, User
from otdel.accounts.permissions import signed_in
from otdel.approvals import selectors, services
from otdel.approvals.models import (
    Approval,
    ApprovalRoute,
    ApprovalStatus,
    DepartmentDesk,
    DepartmentRequest,
    RequestAttachment,
    RequestStatus,
    StepMode,
)
from otdel.core.exceptions import ApiError, ConflictError
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm.models import Deal
from otdel.documents.models import Document, DocumentStatus, DocumentTemplate
from otdel.documents.storage import file_read
from otdel.web.http import int_or_none

BLANK_STEPS = 2


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ConflictError):
        return exc.message
    if isinstance(exc, ApiError):
        return " ".join(m for msgs in exc.errors.values() for m in msgs)
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc)


# --- awaiting my approval -------------------------------------------------------------------------


@login_required
def approvals_inbox(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    tasks = list(selectors.awaiting(user=user))
    sent = list(selectors.approval_list(user=user).filter(owner=user).order_by("-created_at", "-id")[:20])
    return render(
        request,
        "approvals/inbox.html",
        {
            "tasks": tasks,
            "sent": sent,
            "now": timezone.now(),
            "tab": "inbox",
        },
    )


@login_required
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from otdel.kb.selectors import articles_for_document_kind

    user = signed_in(request)
    approval = get_scoped_or_404(Approval.objects.all(), user, pk=pk)
    approval = selectors.approval_detail(approval)
    document = approval.document
    stage = approval.current_stage
    mine = None
    if stage is not None:
        tasks = list(stage.tasks.all())
        mine = next(
            (t for t in tasks if t.assignee_id == user.pk and not t.replaced and not t.decision), None
        )
        if mine is not None and not services._task_open(mine, stage, tasks):
            mine.not_yet = True  # type: ignore[attr-defined]
    rounds = selectors.document_rounds(document)
    preview = document.versions.filter(version=approval.document_version).exclude(preview="").first()
    return render(
        request,
        "approvals/detail.html",
        {
            "approval": approval,
            "document": document,
            "stage": stage,
            "mine": mine,
            "rounds": rounds,
            "preview": preview,
            "regulations": articles_for_document_kind(user=user, kind=document.kind),
            "may_cancel": approval.status == ApprovalStatus.IN_PROGRESS
            and scope(Document.objects.filter(pk=document.pk), user, "change").exists(),
            "may_open_deal": scope(Deal.objects.filter(pk=document.deal_id), user).exists(),
            "tab": "inbox",
        },
    )


@login_required
@xframe_options_sameorigin
def approval_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF under approval (or the approved one with the sheet), shown inline in the page."""
    user = signed_in(request)
    approval = get_scoped_or_404(Approval.objects.select_related("document"), user, pk=pk)
    version = approval.approved_version or approval.document_version
    if request.GET.get("version", "").isdigit():
        version = int(request.GET["version"])
    row = approval.document.versions.filter(format="pdf", version=version).first()
    if row is None:
        raise Http404
    response = HttpResponse(file_read(row.file), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="approval-{approval.pk}-v{version}.pdf"'
    return response


@login_required
@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    approval = get_scoped_or_404(Approval.objects.all(), user, pk=pk)
    decision = request.POST.get("decision", "")
    try:
        services.approval_decide(
            actor=user, approval=approval, decision=decision, comment=request.POST.get("comment", "")
        )
    except (ValidationError, ConflictError, ApiError) as exc:
        messages.error(request, _refusal(exc))
        return redirect("approvals_detail", pk=pk)
    messages.success(request, _("Your decision is recorded."))
    return redirect("approvals_detail", pk=pk)


@login_required
@require_POST
def approval_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    approval = get_scoped_or_404(Approval.objects.all(), user, pk=pk)
    get_scoped_or_404(Document.objects.all(), user, "change", pk=approval.document_id)
    try:
        services.approval_cancel(actor=user, approval=approval)
    except ConflictError as exc:
        messages.error(request, exc.message)
    return redirect("approvals_detail", pk=pk)


# --- the deal card block --------------------------------------------------------------------------


def _deal_block(request: HttpRequest, deal: Deal, *, errors: list[str] | None = None) -> HttpResponse:
    user = signed_in(request)
    documents = list(
        scope(Document.objects.filter(deal=deal, deleted_at__isnull=True), user).order_by(
            "-created_at", "-id"
        )
    )
    latest = {a.document_id: a for a in selectors.deal_approvals(user=user, deal=deal)}
    routes = list(ApprovalRoute.objects.filter(is_active=True).order_by("name"))
    for document in documents:
        document.approval = latest.get(document.pk)  # type: ignore[attr-defined]
        document.routes = [r for r in routes if document.kind in r.document_kinds]  # type: ignore[attr-defined]
        document.may_send = document.status in (  # type: ignore[attr-defined]
            DocumentStatus.READY,
            DocumentStatus.REWORK,
            DocumentStatus.REJECTED,
        )
    may_change = scope(Deal.objects.filter(pk=deal.pk), user, "change").exists()
    return render(
        request,
        "approvals/_deal_block.html",
        {
            "deal": deal,
            "documents": documents,
            "requests": list(selectors.deal_requests(user=user, deal=deal)),
            "departments": Department.objects.order_by("name"),
            "may_change": may_change,
            "errors": errors or [],
        },
    )


@login_required
def deal_block(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_scoped_or_404(Deal.objects.all(), request.user, pk=pk)
    return _deal_block(request, deal)


@login_required
@require_POST
def document_send(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    document = get_scoped_or_404(Document.objects.select_related("deal"), user, "change", pk=pk)
    route = ApprovalRoute.objects.filter(pk=int_or_none(request.POST.get("route")) or 0).first()
    errors = []
    if route is None:
        errors.append(_("Choose a route."))
    else:
        try:
            services.approval_start(actor=user, document=document, route=route)
        except (ValidationError, ConflictError, ApiError) as exc:
            errors.append(_refusal(exc))
    return _deal_block(request, document.deal, errors=errors)


def _due(value: str) -> datetime.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise ValidationError({"due_at": _("Enter a date and time.")})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@login_required
@require_POST
def request_create(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    deal = get_scoped_or_404(Deal.objects.all(), user, pk=pk)
    department = Department.objects.filter(pk=int_or_none(request.POST.get("department")) or 0).first()
    errors = []
    if department is None:
        errors.append(_("Choose a department."))
    else:
        files = [
            (f.name or "file", f.read(), f.content_type or "") for f in request.FILES.getlist("attachments")
        ]
        try:
            services.request_create(
                actor=user,
                deal=deal,
                department=department,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                due_at=_due(request.POST.get("due_at", "")),
                attachments=files,
            )
        except (ValidationError, ConflictError, ApiError) as exc:
            errors.append(_refusal(exc))
    return _deal_block(request, deal, errors=errors)


# --- department requests --------------------------------------------------------------------------


@login_required
def departments(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    rows = list(selectors.departments_with_counts())
    desks = {d.department_id: d for d in DepartmentDesk.objects.select_related("queue")}
    for department in rows:
        department.desk_row = desks.get(department.pk)  # type: ignore[attr-defined]
    from otdel.routing.models import Queue

    return render(
        request,
        "approvals/departments.html",
        {
            "departments": rows,
            "queues": Queue.objects.filter(is_active=True).order_by("name") if user.is_admin else [],
            "tab": "departments",
        },
    )


@login_required
@require_POST
def desk_save(request: HttpRequest, pk: int) -> HttpResponse:
    from otdel.routing.models import Queue

    user = signed_in(request)
    if not user.is_admin:
        raise PermissionDenied
    department = Department.objects.filter(pk=pk).first()
    if department is None:
        raise Http404
    queue = Queue.objects.filter(pk=int_or_none(request.POST.get("queue")) or 0).first()
    try:
        services.desk_save(
            actor=user,
            department=department,
            queue=queue,
            sla_hours=int_or_none(request.POST.get("sla_hours")) or 8,
        )
        messages.success(request, _("Saved."))
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    return redirect("approvals_departments")


@login_required
def department_inbox(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    department = Department.objects.filter(pk=pk).first()
    if department is None:
        raise Http404
    status = request.GET.get("status", "open")
    rows = selectors.department_inbox(user=user, department=department)
    if status == "open":
        rows = rows.filter(status__in=[RequestStatus.NEW, RequestStatus.IN_PROGRESS])
    elif status in RequestStatus.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "approvals/department_inbox.html",
        {
            "department": department,
            "requests": list(rows.order_by("created_at", "id")[:300]),
            "status": status,
            "statuses": RequestStatus.choices,
            "may_work": user.is_admin or user.department_id == department.pk,
            "tab": "departments",
        },
    )


@login_required
@require_POST
def request_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    row = get_scoped_or_404(DepartmentRequest.objects.all(), user, pk=pk)
    try:
        services.request_set_status(
            actor=user,
            request=row,
            status=request.POST.get("status", ""),
            comment=request.POST.get("comment", ""),
        )
        messages.success(request, _("The request is updated."))
    except (ValidationError, ConflictError, ApiError) as exc:
        messages.error(request, _refusal(exc))
    return redirect("approvals_department_inbox", pk=row.department_id)


@login_required
def request_file(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_scoped_or_404(RequestAttachment.objects.all(), request.user, pk=pk)
    response = HttpResponse(file_read(attachment.file), content_type="application/octet-stream")
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    return response


# --- routes ---------------------------------------------------------------------------------------


def _may_edit(request: HttpRequest) -> User:
    user = signed_in(request)
    if not selectors.may_edit_routes(user):
        raise PermissionDenied
    return user


@login_required
def routes(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    rows = list(selectors.route_list(user=user))
    for route in rows:
        route.step_rows = [  # type: ignore[attr-defined]
            (step, selectors.approvers_text(step.approvers)) for step in route.steps.all()
        ]
    return render(
        request,
        "approvals/routes.html",
        {"routes": rows, "may_edit": selectors.may_edit_routes(user), "tab": "routes"},
    )


def _steps_from_post(post: Any) -> list[dict[str, Any]]:
    steps = []
    for n in range(int_or_none(post.get("step_count")) or 0):
        name = (post.get(f"step-{n}-name") or "").strip()
        if not name:
            continue
        approvers: list[dict[str, Any]] = []
        approvers += [{"user": int(v)} for v in post.getlist(f"step-{n}-users") if v.isdigit()]
        approvers += [{"role": v} for v in post.getlist(f"step-{n}-roles") if v]
        approvers += [{"department": int(v)} for v in post.getlist(f"step-{n}-departments") if v.isdigit()]
        if post.get(f"step-{n}-head_of"):
            approvers.append({"head_of": "responsible"})
        steps.append(
            {
                "name": name,
                "mode": post.get(f"step-{n}-mode") or StepMode.ALL,
                "quorum": post.get(f"step-{n}-quorum") or 1,
                "sequential": bool(post.get(f"step-{n}-sequential")),
                "approvers": approvers,
                "deadline_hours": post.get(f"step-{n}-deadline_hours") or 8,
                "min_amount": post.get(f"step-{n}-min_amount") or None,
            }
        )
    return steps


@login_required
def route_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _may_edit(request)
    route = get_scoped_or_404(ApprovalRoute.objects.all(), user, "change", pk=pk) if pk else None
    errors: list[str] = []
    if request.method == "POST":
        try:
            saved = services.route_save(
                actor=user,
                route=route,
                name=request.POST.get("name", ""),
                document_kinds=request.POST.getlist("document_kinds"),
                steps=_steps_from_post(request.POST),
                is_active=bool(request.POST.get("is_active")),
            )
            messages.success(request, _("Route “%(name)s” saved.") % {"name": saved.name})
            return redirect("approvals_routes")
        except (ValidationError, ConflictError, ApiError) as exc:
            errors.append(_refusal(exc))
    steps: list[Any] = list(route.steps.all()) if route is not None else []
    step_rows = [
        {
            "n": n,
            "step": step,
            "users": {a["user"] for a in step.approvers if "user" in a},
            "roles": {a["role"] for a in step.approvers if "role" in a},
            "departments": {a["department"] for a in step.approvers if "department" in a},
            "head_of": any("head_of" in a for a in step.approvers),
        }
        for n, step in enumerate(steps)
    ]
    for n in range(len(steps), len(steps) + BLANK_STEPS):
        step_rows.append(
            {"n": n, "step": None, "users": set(), "roles": set(), "departments": set(), "head_of": False}
        )
    kinds = sorted(
        set(DocumentTemplate.objects.values_list("kind", flat=True))
        | set(route.document_kinds if route else [])
    )
    return render(
        request,
        "approvals/route_form.html",
        {
            "route": route,
            "name_value": request.POST.get("name", "")
            if request.method == "POST"
            else (route.name if route else ""),
            "errors": errors,
            "kinds": kinds,
            "step_rows": step_rows,
            "step_count": len(step_rows),
            "modes": StepMode.choices,
            "users": User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION).order_by("full_name"),
            "roles": [(v, label) for v, label in Role.choices if v != Role.INTEGRATION],
            "departments": Department.objects.order_by("name"),
            "tab": "routes",
        },
    )

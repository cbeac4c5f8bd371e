"""Reads of approvals through ``scope``, and their scope rules.

- Routes: everyone signed in reads them; administrators and the head of sales change them.
- A round (``Approval``) is seen by whoever sees its document, and by the people deciding on it.
- A department request by whoever sees its deal, its department's members, its assignee and author.
- An approver (role "approver") sees the deals and documents they decide on or their department got a
  request about, nothing else of sales' data (``approver_deal_ids``, read by the deal and document rules).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from otdel.accounts.models import Department, Role, User
from otdel.approvals.models import (
    OPEN_REQUEST_STATUSES,
    Approval,
    ApprovalEvent,
    ApprovalRoute,
    ApprovalStage,
    ApprovalStatus,
    ApprovalTask,
    DepartmentDesk,
    DepartmentRequest,
    RequestAttachment,
    StageStatus,
)
from otdel.core.scoping import scope, scope_rule
from otdel.crm.models import Deal
from otdel.documents.models import Document


def may_edit_routes(user: Any) -> bool:
    return bool(user.is_active and (user.is_admin or user.role == Role.HEAD_OF_SALES))


@scope_rule(ApprovalRoute)
def _scope_routes(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return qs if action == "view" or may_edit_routes(user) else qs.none()


@scope_rule(DepartmentDesk)
def _scope_desks(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return qs if action == "view" or user.is_admin else qs.none()


def _deciding(user: Any) -> QuerySet[ApprovalTask]:
    return ApprovalTask.objects.filter(assignee=user)


def approver_document_ids(user: Any) -> QuerySet[Any]:
    return _deciding(user).values("stage__approval__document_id")


def approver_deal_ids(user: Any) -> QuerySet[Any]:
    """Deals an approver may open: those of documents they decide on, or their department's requests."""
    decide = Document.objects.filter(pk__in=approver_document_ids(user)).values("deal_id")
    q = Q(pk__in=decide)
    if user.department_id is not None:
        q |= Q(pk__in=DepartmentRequest.objects.filter(department_id=user.department_id).values("deal_id"))
    q |= Q(pk__in=DepartmentRequest.objects.filter(assignee=user).values("deal_id"))
    return Deal.objects.filter(q).values("pk")


@scope_rule(Approval)
def _scope_approvals(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    documents = scope(Document.objects.all(), user, action).values("pk")
    return qs.filter(Q(document__in=documents) | Q(pk__in=_deciding(user).values("stage__approval_id")))


@scope_rule(DepartmentRequest)
def _scope_requests(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    q = Q(assignee=user) | Q(author=user)
    if user.department_id is not None:
        q |= Q(department_id=user.department_id)
    if action == "view":
        q |= Q(deal__in=scope(Deal.objects.all(), user).values("pk"))
    return qs.filter(q)


@scope_rule(RequestAttachment)
def _scope_attachments(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return qs.filter(request__in=scope(DepartmentRequest.objects.all(), user, action).values("pk"))


# --- lists ----------------------------------------------------------------------------------------


def route_list(*, user: Any) -> QuerySet[ApprovalRoute]:
    return scope(ApprovalRoute.objects.all(), user).prefetch_related("steps")


def awaiting(*, user: Any) -> QuerySet[ApprovalTask]:
    """The user's undecided tasks on steps deciding now (a later one of a one-after-another step
    included: the page says it waits for its turn)."""
    return (
        ApprovalTask.objects.filter(
            assignee=user, decision="", replaced=False, stage__status=StageStatus.ACTIVE
        )
        .select_related("stage__approval__document__deal", "stage__approval__owner", "on_behalf_of")
        .order_by("stage__due_at", "id")
    )


def awaiting_count(*, user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return awaiting(user=user).count()


def approval_list(*, user: Any) -> QuerySet[Approval]:
    return scope(Approval.objects.all(), user).select_related("document__deal", "route", "owner")


def approval_detail(approval: Approval) -> Approval:
    """One round with its steps, tasks and events loaded (a fixed number of queries)."""
    return (
        Approval.objects.select_related("document__deal__responsible", "route", "owner")
        .prefetch_related(
            Prefetch(
                "stages",
                queryset=ApprovalStage.objects.order_by("position").prefetch_related(
                    Prefetch(
                        "tasks",
                        queryset=ApprovalTask.objects.select_related("assignee", "on_behalf_of").order_by(
                            "position", "id"
                        ),
                    )
                ),
            ),
            Prefetch("events", queryset=ApprovalEvent.objects.select_related("actor").order_by("at", "id")),
        )
        .get(pk=approval.pk)
    )


def document_rounds(document: Document) -> list[Approval]:
    return [approval_detail(a) for a in document.approvals.order_by("round", "id")]


def deal_approvals(*, user: Any, deal: Deal) -> list[Approval]:
    """The latest round of each document of the deal."""
    rows = approval_list(user=user).filter(document__deal=deal).order_by("document_id", "-round")
    latest: dict[int, Approval] = {}
    for row in rows:
        latest.setdefault(row.document_id, row)
    return list(latest.values())


def request_list(*, user: Any) -> QuerySet[DepartmentRequest]:
    return (
        scope(DepartmentRequest.objects.all(), user)
        .select_related("department", "deal", "assignee", "author")
        .prefetch_related("attachments")
    )


def deal_requests(*, user: Any, deal: Deal, open_only: bool = False) -> QuerySet[DepartmentRequest]:
    qs = request_list(user=user).filter(deal=deal)
    return qs.filter(status__in=OPEN_REQUEST_STATUSES) if open_only else qs


def department_inbox(*, user: Any, department: Department) -> QuerySet[DepartmentRequest]:
    return request_list(user=user).filter(department=department)


def departments_with_counts() -> QuerySet[Department]:
    return Department.objects.annotate(
        open_requests=Count("requests", filter=Q(requests__status__in=OPEN_REQUEST_STATUSES))
    ).select_related("head")


def approvers_text(approvers: list[dict[str, Any]]) -> str:
    """ "Павлов И. И., role Approver, department Legal": a step's approvers in words."""
    from django.utils.translation import gettext as _

    users = {u.pk: u for u in User.objects.filter(pk__in=[a["user"] for a in approvers if "user" in a])}
    departments = {
        d.pk: d
        for d in Department.objects.filter(pk__in=[a["department"] for a in approvers if "department" in a])
    }
    parts = []
    for spec in approvers:
        if "user" in spec:
            parts.append(str(users.get(spec["user"], spec["user"])))
        elif "role" in spec:
            parts.append(_("everyone with the role “%(role)s”") % {"role": Role(spec["role"]).label})
        elif "department" in spec:
            parts.append(
                _("department “%(d)s”") % {"d": departments.get(spec["department"], spec["department"])}
            )
        else:
            parts.append(_("the head of the responsible's department"))
    return ", ".join(parts)


def running(document: Document) -> Approval | None:
    return document.approvals.filter(status=ApprovalStatus.IN_PROGRESS).first()

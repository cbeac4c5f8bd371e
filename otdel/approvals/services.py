"""Writes of approvals: routes, rounds of a document through a route, decisions, deputies, escalation,
the approval sheet; and requests between departments.

Every decision locks the round's row first (``SELECT ... FOR UPDATE``), so two approvers deciding at
the same moment are serialized: both decisions are kept, and the step closes exactly once.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from otdel.accounts.models import Department, Role, User
from otdel.approvals.errors import ApprovalErrorCode as Code
from otdel.approvals.models import (
    OPEN_REQUEST_STATUSES,
    Approval,
    ApprovalEvent,
    ApprovalRoute,
    ApprovalStage,
    ApprovalStatus,
    ApprovalTask,
    Decision,
    DepartmentDesk,
    DepartmentRequest,
    RequestAttachment,
    RequestStatus,
    RouteStep,
    StageStatus,
    StepMode,
)
from otdel.automation.models import Notification, SlaPolicy, SlaTimer
from otdel.automation.services import notify
from otdel.automation.sla import sla_clock_person
from otdel.automation.worktime import add_minutes
from otdel.core.changelog import record_change
from otdel.core.context import acting_as
from otdel.core.events import DocumentApproved, DocumentRejected, emit
from otdel.core.exceptions import ApiError, ConflictError, field_error
from otdel.core.models import ObjectChange
from otdel.crm.models import Deal
from otdel.documents.models import Document, DocumentStatus, DocumentVersion

logger = logging.getLogger(__name__)

STAGE_TIMER = "approval-stage:{}"
REQUEST_TIMER = "department-request:{}"
MAX_STEPS = 20
MAX_ATTACHMENT = 20 * 1024 * 1024


# --- routes ---------------------------------------------------------------------------------------


def _positive_int(value: Any, field: str, *, default: int, minimum: int = 0) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise field_error(field, _("A whole number."), Code.INVALID) from exc
    if number < minimum:
        raise field_error(field, _("At least %(n)s.") % {"n": minimum}, Code.INVALID)
    return number


def _approver_spec(value: Any, field: str) -> dict[str, Any]:
    """One approver entry, checked: a user, a role, a department or the responsible's head."""
    if not isinstance(value, dict) or len(value) != 1:
        raise field_error(
            field, _("Name one approver: a user, a role, a department or a head."), Code.INVALID
        )
    ((kind, ref),) = value.items()
    if kind == "user":
        if not User.objects.filter(pk=_positive_int(ref, field, default=0), is_active=True).exists():
            raise field_error(
                field, _("There is no active user with the id %(id)s.") % {"id": ref}, Code.UNKNOWN
            )
        return {"user": int(ref)}
    if kind == "role":
        if ref not in Role.values or ref == Role.INTEGRATION:
            raise field_error(field, _("Unknown role “%(role)s”.") % {"role": ref}, Code.UNKNOWN)
        return {"role": ref}
    if kind == "department":
        if not Department.objects.filter(pk=_positive_int(ref, field, default=0)).exists():
            raise field_error(
                field, _("There is no department with the id %(id)s.") % {"id": ref}, Code.UNKNOWN
            )
        return {"department": int(ref)}
    if kind == "head_of" and ref == "responsible":
        return {"head_of": "responsible"}
    raise field_error(field, _("Name one approver: a user, a role, a department or a head."), Code.INVALID)


def _step_fields(data: Any, n: int) -> dict[str, Any]:
    field = f"steps[{n}]"
    if not isinstance(data, dict):
        raise field_error(field, _("A step is an object."), Code.INVALID)
    name = str(data.get("name") or "").strip()[:200]
    if not name:
        raise field_error(f"{field}.name", _("Name the step."), Code.REQUIRED)
    mode = data.get("mode") or StepMode.ALL
    if mode not in StepMode.values:
        raise field_error(f"{field}.mode", _("Choose all, any or quorum."), Code.INVALID)
    approvers = data.get("approvers")
    if not isinstance(approvers, list) or not approvers:
        raise field_error(f"{field}.approvers", _("Add at least one approver."), Code.REQUIRED)
    specs = [_approver_spec(a, f"{field}.approvers[{i}]") for i, a in enumerate(approvers)]
    quorum = _positive_int(data.get("quorum"), f"{field}.quorum", default=1, minimum=1)
    min_amount = data.get("min_amount")
    amount = None
    if min_amount not in (None, ""):
        try:
            amount = Decimal(str(min_amount).replace(" ", "").replace(",", "."))
        except InvalidOperation as exc:
            raise field_error(f"{field}.min_amount", _("Enter a number."), Code.INVALID) from exc
        if not amount.is_finite() or amount < 0:
            raise field_error(f"{field}.min_amount", _("Enter a number."), Code.INVALID)
    return {
        "name": name,
        "mode": mode,
        "quorum": quorum,
        "sequential": bool(data.get("sequential", False)),
        "approvers": specs,
        "deadline_hours": _positive_int(
            data.get("deadline_hours"), f"{field}.deadline_hours", default=8, minimum=1
        ),
        "min_amount": amount,
    }


@transaction.atomic
def route_save(
    *,
    actor: Any,
    name: str,
    document_kinds: list[str],
    steps: list[dict[str, Any]],
    route: ApprovalRoute | None = None,
    is_active: bool = True,
) -> ApprovalRoute:
    """Create or replace a route (its steps are replaced; running rounds keep their own copy)."""
    with acting_as(actor):
        name = (name or "").strip()[:200]
        if not name:
            raise field_error("name", _("Name the route."), Code.REQUIRED)
        if not isinstance(document_kinds, list) or not [k for k in document_kinds if str(k).strip()]:
            raise field_error("document_kinds", _("Choose at least one document kind."), Code.REQUIRED)
        kinds = sorted({str(k).strip()[:64] for k in document_kinds if str(k).strip()})
        if not isinstance(steps, list) or not steps:
            raise field_error("steps", _("Add at least one step."), Code.REQUIRED)
        if len(steps) > MAX_STEPS:
            raise field_error("steps", _("At most %(n)s steps.") % {"n": MAX_STEPS}, Code.INVALID)
        fields = [_step_fields(step, n) for n, step in enumerate(steps)]
        if route is None:
            route = ApprovalRoute(created_by=actor if getattr(actor, "pk", None) else None)
        else:
            route = ApprovalRoute.objects.select_for_update().get(pk=route.pk)
        route.name, route.document_kinds, route.is_active = name, kinds, bool(is_active)
        route.save()
        old = [
            (s.name, s.mode, s.quorum, s.approvers, s.deadline_hours)
            for s in route.steps.order_by("position")
        ]
        route.steps.all().delete()
        RouteStep.objects.bulk_create(
            RouteStep(route=route, position=n, **step) for n, step in enumerate(fields)
        )
        new = [(s["name"], s["mode"], s["quorum"], s["approvers"], s["deadline_hours"]) for s in fields]
        if old != new:
            record_change(route, ObjectChange.Action.UPDATE, changes={"steps": [old, new]}, user=actor)
        return route


# --- who decides ----------------------------------------------------------------------------------


def _people(spec: dict[str, Any], deal: Deal) -> list[User]:
    active = User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION).order_by("id")
    if "user" in spec:
        return list(User.objects.filter(pk=spec["user"]))  # an inactive one is replaced below
    if "role" in spec:
        return list(active.filter(role=spec["role"]))
    if "department" in spec:
        return list(active.filter(department_id=spec["department"]))
    responsible = deal.responsible
    department = responsible.department if responsible is not None else None
    return [department.head] if department is not None and department.head is not None else []


def _head_for(user: User) -> User | None:
    department = user.department
    head = department.head if department is not None else None
    if head is not None and head.pk != user.pk and head.is_active:
        return head
    return None


def _stand_in(user: User, day: datetime.date) -> tuple[User, User | None, str]:
    """Who decides for ``user`` today: themselves, the backup of their absence, or (a user who
    left) their backup or department head. Returns (assignee, on behalf of, reason)."""
    if not user.is_active:
        stand_in = _deputy_of_leaver(user)
        if stand_in is not None:
            return stand_in, user, ApprovalTask.Reason.REPLACED
        return user, None, ""
    deputy = user.backup_on(day)
    if deputy is not None and deputy.is_active and deputy.pk != user.pk:
        return deputy, user, ApprovalTask.Reason.DEPUTY
    return user, None, ""


def _deputy_of_leaver(user: User) -> User | None:
    """Who takes over from someone who left: the backup of their last absence, else their head."""
    absence = user.absences.filter(backup__is_active=True).order_by("-end").first()
    return absence.backup if absence is not None else _head_for(user)


def stage_people(stage_approvers: list[dict[str, Any]], deal: Deal) -> list[tuple[User, User | None, str]]:
    """The deciders of a step, deputies put in, each person once."""
    today = timezone.localdate()
    seen: set[int] = set()
    result = []
    for spec in stage_approvers:
        for person in _people(spec, deal):
            assignee, behalf, reason = _stand_in(person, today)
            if not assignee.is_active or assignee.pk in seen:
                continue
            seen.add(assignee.pk)
            result.append((assignee, behalf, reason))
    return result


# --- rounds ---------------------------------------------------------------------------------------


def _event(approval: Approval, kind: str, actor: Any, text: str) -> None:
    ApprovalEvent.objects.create(
        approval=approval,
        deal_id=approval.document.deal_id,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        text=text[:2000],
    )


def _approval_url(approval: Approval) -> str:
    return reverse("approvals_detail", args=[approval.pk])


def _approval_policy() -> SlaPolicy:
    policy = SlaPolicy.objects.filter(target=SlaPolicy.Target.APPROVAL_STEP).order_by("id").first()
    if policy is None:
        policy = SlaPolicy.objects.create(
            name=_("Approval step deadline"),
            target=SlaPolicy.Target.APPROVAL_STEP,
            minutes=8 * 60,
            working_time=True,
            warn_at_percent=80,
        )
    return policy


def _request_policy() -> SlaPolicy:
    policy = SlaPolicy.objects.filter(target=SlaPolicy.Target.DEPARTMENT_REQUEST).order_by("id").first()
    if policy is None:
        policy = SlaPolicy.objects.create(
            name=_("Department request answer"),
            target=SlaPolicy.Target.DEPARTMENT_REQUEST,
            minutes=8 * 60,
            working_time=True,
            warn_at_percent=80,
        )
    return policy


def _clock_start(
    *, policy: SlaPolicy, key: str, deal: Deal, start: datetime.datetime, hours: int
) -> datetime.datetime:
    """An SLA clock of the automation layer (reminder at the policy's %, breach at the deadline)."""
    due = add_minutes(start, hours * 60, working_time=policy.working_time)
    warn = None
    if 0 < policy.warn_at_percent < 100:
        warn = add_minutes(
            start, hours * 60 * policy.warn_at_percent // 100, working_time=policy.working_time
        )
    SlaTimer.objects.get_or_create(
        policy=policy,
        key=key,
        defaults={"deal": deal, "started_at": start, "warn_at": warn, "due_at": due, "check_at": warn or due},
    )
    return due


def _stage_clock_person(stage: ApprovalStage, tasks: list[ApprovalTask] | None = None) -> None:
    """The step's clock counts for the approver it waits on (the first of them, when several). When
    nobody is waited on any more (the last decision closes the step) it stays with the last one."""
    tasks = tasks if tasks is not None else list(stage.tasks.order_by("position", "id"))
    waiting = next((t for t in tasks if _task_open(t, stage, tasks)), None)
    if waiting is not None:
        sla_clock_person(STAGE_TIMER.format(stage.pk), waiting.assignee)


def _clock_stop(key: str) -> None:
    now = timezone.now()
    SlaTimer.objects.filter(key=key, state__in=[SlaTimer.State.RUNNING, SlaTimer.State.WARNED]).update(
        state=SlaTimer.State.MET, met_at=now, check_at=None, updated_at=now
    )


def _tell(*, user: Any, kind: str, key: str, title: str, url: str) -> Notification | None:
    """The bell, and the person's own channels (e-mail, Telegram) as they chose in their
    notification settings (automation delivers those)."""
    if user is None:
        return None
    return notify(user=user, kind=kind, key=key, title=title, url=url)


def _notify_task(task: ApprovalTask, approval: Approval) -> None:
    document = approval.document
    if task.on_behalf_of_id:
        title = _("Approve for %(who)s: %(document)s") % {"who": task.on_behalf_of, "document": document}
    else:
        title = _("Awaiting your approval: %(document)s") % {"document": document}
    _tell(
        user=task.assignee,
        kind=Notification.Kind.APPROVAL,
        key=f"approval-task:{task.pk}",
        title=title,
        url=_approval_url(approval),
    )


def _task_open(task: ApprovalTask, stage: ApprovalStage, tasks: list[ApprovalTask]) -> bool:
    """A pending task whose turn it is (in a one-after-another step, all earlier ones approved)."""
    if task.decision or task.replaced or stage.status != StageStatus.ACTIVE:
        return False
    if not stage.sequential:
        return True
    earlier = [t for t in tasks if not t.replaced and t.position < task.position]
    return all(t.decision == Decision.APPROVE for t in earlier)


def _stage_activate(stage: ApprovalStage, approval: Approval, now: datetime.datetime) -> None:
    people = stage_people(stage.approvers, approval.document.deal)
    stage.status, stage.started_at = StageStatus.ACTIVE, now
    stage.due_at = _clock_start(
        policy=_approval_policy(),
        key=STAGE_TIMER.format(stage.pk),
        deal=approval.document.deal,
        start=now,
        hours=stage.deadline_hours,
    )
    stage.save()
    tasks = [
        ApprovalTask.objects.create(
            stage=stage, position=n, assignee=person, on_behalf_of=behalf, reason=reason
        )
        for n, (person, behalf, reason) in enumerate(people)
    ]
    _stage_clock_person(stage, tasks)
    for task in tasks:
        if task.on_behalf_of_id:
            _event(
                approval,
                ApprovalEvent.Kind.DELEGATED,
                None,
                _("%(deputy)s decides for %(who)s (absent)")
                % {"deputy": task.assignee, "who": task.on_behalf_of},
            )
        if _task_open(task, stage, tasks):
            _notify_task(task, approval)


def routes_for(document: Document) -> list[ApprovalRoute]:
    return [
        r
        for r in ApprovalRoute.objects.filter(is_active=True).order_by("name", "id")
        if document.kind in r.document_kinds
    ]


@transaction.atomic
def approval_start(
    *, actor: Any, document: Document, route: ApprovalRoute, now: datetime.datetime | None = None
) -> Approval:
    """Send the document's current version through ``route``; the document is locked until it ends.

    After a rework the document must have a new version first (409 ``needs_new_version``).
    """
    with acting_as(actor):
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("deal__responsible")
            .get(pk=document.pk)
        )
        if document.deleted_at is not None:
            raise ConflictError(_("The document was deleted."), code=Code.DELETED)
        if document.status == DocumentStatus.IN_APPROVAL:
            raise ConflictError(_("The document is already in approval."), code=Code.ALREADY_RUNNING)
        if document.status == DocumentStatus.APPROVED:
            raise ConflictError(_("The document is approved already."), code=Code.ALREADY_APPROVED)
        if (
            document.status in (DocumentStatus.GENERATING, DocumentStatus.FAILED)
            or not document.current_version
        ):
            raise ConflictError(_("The document is not ready yet."), code=Code.NOT_READY)
        if not route.is_active or document.kind not in route.document_kinds:
            raise field_error("route", _("This route is not for documents of this kind."), Code.WRONG_ROUTE)
        last = document.approvals.order_by("-round").first()
        if (
            last is not None
            and last.status == ApprovalStatus.REWORK
            and document.current_version <= last.document_version
        ):
            raise ConflictError(
                _("Make a new version of the document (regenerate it) before sending it again."),
                code=Code.NEEDS_NEW_VERSION,
            )
        amount = document.deal.amount or Decimal(0)
        steps = [
            s
            for s in route.steps.order_by("position", "id")
            if s.min_amount is None or amount >= s.min_amount
        ]
        for step in steps:
            if not stage_people(step.approvers, document.deal):
                raise field_error(
                    "route",
                    _("Nobody can decide on the step “%(step)s” (no active approver).") % {"step": step.name},
                    Code.NOBODY,
                )
        now = now or timezone.now()
        round_no = (document.approvals.aggregate(m=Max("round"))["m"] or 0) + 1
        approval = Approval.objects.create(
            document=document,
            route=route,
            round=round_no,
            owner=actor if getattr(actor, "pk", None) else None,
            document_version=document.current_version,
        )
        stages = [
            ApprovalStage.objects.create(
                approval=approval,
                position=n,
                name=s.name,
                mode=s.mode,
                quorum=s.quorum,
                sequential=s.sequential,
                approvers=s.approvers,
                deadline_hours=s.deadline_hours,
            )
            for n, s in enumerate(steps)
        ]
        document.status = DocumentStatus.IN_APPROVAL
        document.save()
        _event(
            approval,
            ApprovalEvent.Kind.SUBMITTED,
            actor,
            _(
                "%(document)s (version %(version)s) sent for approval by the route “%(route)s”, round %(round)s"
            )
            % {
                "document": document,
                "version": document.current_version,
                "route": route.name,
                "round": round_no,
            },
        )
        _stage_activate(stages[0], approval, now)
        return approval


def approval_start_for_deal(*, deal: Deal, route_id: int) -> Approval:
    """The automation action ``start_approval``: the deal's newest ready document of the route's
    kinds goes through the route, sent on behalf of the deal's responsible."""
    route = ApprovalRoute.objects.filter(pk=route_id, is_active=True).first()
    if route is None:
        raise ValueError(_("the approval route %(id)s no longer exists") % {"id": route_id})
    document = (
        Document.objects.filter(
            deal=deal,
            deleted_at__isnull=True,
            kind__in=route.document_kinds,
            status__in=[DocumentStatus.READY, DocumentStatus.REWORK, DocumentStatus.REJECTED],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if document is None:
        raise ValueError(
            _("the deal has no ready document for the route “%(route)s”") % {"route": route.name}
        )
    return approval_start(actor=deal.responsible, document=document, route=route)


def _finish(approval: Approval, status: str, now: datetime.datetime) -> None:
    approval.status, approval.finished_at = status, now
    approval.save()
    for stage in approval.stages.filter(status__in=[StageStatus.PENDING, StageStatus.ACTIVE]):
        stage.status, stage.finished_at = StageStatus.CANCELLED, now
        stage.save()
        _clock_stop(STAGE_TIMER.format(stage.pk))


@transaction.atomic
def approval_decide(*, actor: Any, approval: Approval, decision: str, comment: str = "") -> Approval:
    """One approver's decision on the current step.

    403 ``not_on_step`` for someone without a task on it (or not yet their turn), 409
    ``step_closed`` for a decision on a step already decided, 400 for a missing comment.
    """
    with acting_as(actor):
        if decision not in Decision.values:
            raise field_error("decision", _("Choose approve, reject or rework."), Code.INVALID)
        comment = (comment or "").strip()
        if decision in (Decision.REJECT, Decision.REWORK) and not comment:
            raise field_error(
                "comment", _("Write a comment: why you reject it or what to change."), Code.COMMENT_REQUIRED
            )
        approval = (
            Approval.objects.select_for_update(of=("self",))
            .select_related("document__deal", "route")
            .get(pk=approval.pk)
        )
        stage = approval.stages.filter(status=StageStatus.ACTIVE).first()
        tasks = list(stage.tasks.order_by("position", "id")) if stage is not None else []
        mine = next(
            (t for t in tasks if t.assignee_id == actor.pk and not t.replaced and not t.decision), None
        )
        if mine is None or approval.status != ApprovalStatus.IN_PROGRESS:
            had = ApprovalTask.objects.filter(stage__approval=approval, assignee=actor).exists()
            if had:
                raise ConflictError(_("This step has been decided already."), code=Code.STEP_CLOSED)
            raise ApiError(
                {"__all__": [_("You are not an approver of the current step.")]}, Code.NOT_ON_STEP, status=403
            )
        assert stage is not None
        if not _task_open(mine, stage, tasks):
            raise ApiError(
                {"__all__": [_("It is not your turn yet: earlier approvers of this step decide first.")]},
                Code.NOT_ON_STEP,
                status=403,
            )
        now = timezone.now()
        mine.decision, mine.comment, mine.decided_at = decision, comment, now
        mine.save()
        _stage_clock_person(stage)
        document = approval.document
        who = (
            str(actor)
            if not mine.on_behalf_of_id
            else _("%(who)s for %(whom)s") % {"who": actor, "whom": mine.on_behalf_of}
        )
        _event(
            approval,
            ApprovalEvent.Kind.DECIDED,
            actor,
            _("%(who)s: %(decision)s at the step “%(step)s”%(comment)s")
            % {
                "who": who,
                "decision": Decision(decision).label,
                "step": stage.name,
                "comment": f" — {comment}" if comment else "",
            },
        )
        record_change(
            document,
            ObjectChange.Action.UPDATE,
            changes={"approval": [approval.pk, decision], "step": stage.name},
            message=f"{decision}: {comment}"[:500],
            user=actor,
        )
        owner_url = _approval_url(approval)
        if decision in (Decision.REJECT, Decision.REWORK):
            stage.status = StageStatus.REJECTED if decision == Decision.REJECT else StageStatus.REWORK
            stage.finished_at = now
            stage.save()
            _clock_stop(STAGE_TIMER.format(stage.pk))
            final = ApprovalStatus.REJECTED if decision == Decision.REJECT else ApprovalStatus.REWORK
            _finish(approval, final, now)
            document.status = (
                DocumentStatus.REJECTED if decision == Decision.REJECT else DocumentStatus.REWORK
            )
            document.save()
            if decision == Decision.REJECT:
                text = _("%(document)s rejected: %(comment)s") % {"document": document, "comment": comment}
                _event(approval, ApprovalEvent.Kind.REJECTED, actor, text)
                emit(DocumentRejected(document_id=document.pk, deal_id=document.deal_id, kind=document.kind))
            else:
                text = _("%(document)s sent back for rework: %(comment)s") % {
                    "document": document,
                    "comment": comment,
                }
                _event(approval, ApprovalEvent.Kind.REWORK, actor, text)
            _tell(
                user=approval.owner,
                kind=Notification.Kind.APPROVAL,
                key=f"approval-outcome:{approval.pk}",
                title=text,
                url=owner_url,
            )
            return approval
        approvals = sum(1 for t in tasks if t.decision == Decision.APPROVE and not t.replaced)
        if approvals < stage.needed():
            for task in tasks:  # the next one of a one-after-another step
                if task.pk != mine.pk and _task_open(task, stage, tasks):
                    _notify_task(task, approval)
            return approval
        stage.status, stage.finished_at = StageStatus.APPROVED, now
        stage.save()
        _clock_stop(STAGE_TIMER.format(stage.pk))
        _event(
            approval, ApprovalEvent.Kind.STEP_DONE, None, _("Step “%(step)s” approved") % {"step": stage.name}
        )
        following = approval.stages.filter(status=StageStatus.PENDING).order_by("position").first()
        if following is not None:
            _stage_activate(following, approval, now)
            return approval
        approval.status, approval.finished_at = ApprovalStatus.APPROVED, now
        approval.save()
        document.status = DocumentStatus.APPROVED
        document.save()
        text = _("%(document)s approved") % {"document": document}
        _event(approval, ApprovalEvent.Kind.APPROVED, None, text)
        _tell(
            user=approval.owner,
            kind=Notification.Kind.APPROVAL,
            key=f"approval-outcome:{approval.pk}",
            title=text,
            url=owner_url,
        )
        emit(DocumentApproved(document_id=document.pk, deal_id=document.deal_id, kind=document.kind))
        _sheet_enqueue(approval)
        return approval


@transaction.atomic
def approval_cancel(*, actor: Any, approval: Approval) -> Approval:
    """The sender withdraws a running round; the document is unlocked (status ready)."""
    with acting_as(actor):
        approval = (
            Approval.objects.select_for_update(of=("self",)).select_related("document").get(pk=approval.pk)
        )
        if approval.status != ApprovalStatus.IN_PROGRESS:
            raise ConflictError(_("The approval has ended already."), code=Code.STEP_CLOSED)
        _finish(approval, ApprovalStatus.CANCELLED, timezone.now())
        document = approval.document
        document.status = DocumentStatus.READY
        document.save()
        _event(
            approval, ApprovalEvent.Kind.CANCELLED, actor, _("Approval withdrawn by %(who)s") % {"who": actor}
        )
        return approval


# --- handing over: deputies, escalation, people who left -------------------------------------------


def _hand_over(task: ApprovalTask, to: User, reason: str, actor: Any) -> ApprovalTask:
    stage = task.stage
    approval = stage.approval
    task.replaced = True
    task.save()
    behalf = task.on_behalf_of or task.assignee
    new = ApprovalTask.objects.create(
        stage=stage, position=task.position, assignee=to, on_behalf_of=behalf, reason=reason
    )
    kind = (
        ApprovalEvent.Kind.ESCALATED
        if reason == ApprovalTask.Reason.ESCALATED
        else ApprovalEvent.Kind.DELEGATED
    )
    _event(
        approval,
        kind,
        actor,
        _("Step “%(step)s”: %(who)s decides for %(whom)s") % {"step": stage.name, "who": to, "whom": behalf},
    )
    tasks = list(stage.tasks.order_by("position", "id"))
    _stage_clock_person(stage, tasks)
    if _task_open(new, stage, tasks):
        _notify_task(new, approval)
    return new


def stage_remind(*, stage_id: int) -> int:
    """Before the deadline: remind the approvers who have not decided."""
    stage = ApprovalStage.objects.select_related("approval__document").filter(pk=stage_id).first()
    if stage is None or stage.status != StageStatus.ACTIVE:
        return 0
    tasks = list(stage.tasks.select_related("assignee").order_by("position", "id"))
    told = 0
    for task in tasks:
        if _task_open(task, stage, tasks):
            told += (
                _tell(
                    user=task.assignee,
                    kind=Notification.Kind.APPROVAL,
                    key=f"approval-remind:{task.pk}",
                    title=_("The deadline is near: %(document)s awaits your approval")
                    % {"document": stage.approval.document},
                    url=_approval_url(stage.approval),
                )
                is not None
            )
    if told:
        _event(stage.approval, ApprovalEvent.Kind.REMINDED, None, _("Approvers reminded of the deadline"))
    return told


@transaction.atomic
def stage_escalate(*, stage_id: int) -> int:
    """The deadline passed: tell the approvers and the sender, then hand each undecided task to the
    approver's head (the head of the responsible's department when the approver has none)."""
    stage = (
        ApprovalStage.objects.select_related("approval__document__deal__responsible")
        .filter(pk=stage_id)
        .first()
    )
    if stage is None:
        return 0
    Approval.objects.select_for_update().filter(pk=stage.approval_id).first()
    stage.refresh_from_db()
    if stage.status != StageStatus.ACTIVE:
        return 0
    approval = stage.approval
    responsible = approval.document.deal.responsible
    moved = 0
    for task in list(stage.tasks.filter(decision="", replaced=False).select_related("assignee")):
        _tell(
            user=task.assignee,
            kind=Notification.Kind.SLA,
            key=f"approval-overdue:{task.pk}",
            title=_("Approval deadline passed: %(document)s") % {"document": approval.document},
            url=_approval_url(approval),
        )
        head = (_head_for(task.assignee) if task.assignee else None) or (
            _head_for(responsible) if responsible else None
        )
        if (
            head is not None
            and head.pk != task.assignee_id
            and not stage.tasks.filter(assignee=head, replaced=False).exists()
        ):
            _hand_over(task, head, ApprovalTask.Reason.ESCALATED, None)
            moved += 1
    _tell(
        user=approval.owner,
        kind=Notification.Kind.SLA,
        key=f"approval-overdue-owner:{stage.pk}",
        title=_("Approval step “%(step)s” is overdue: %(document)s")
        % {"step": stage.name, "document": approval.document},
        url=_approval_url(approval),
    )
    return moved


@transaction.atomic
def approver_left(*, user: User) -> int:
    """A deactivated or deleted approver: each undecided task goes to their deputy (the backup of
    their absence, else their department head); when there is nobody the sender is told."""
    moved = 0
    tasks = ApprovalTask.objects.filter(
        assignee=user, decision="", replaced=False, stage__status=StageStatus.ACTIVE
    ).select_related("stage__approval__document")
    stand_in = _deputy_of_leaver(user)
    for task in tasks:
        approval = task.stage.approval
        if stand_in is not None and stand_in.pk != user.pk:
            _hand_over(task, stand_in, ApprovalTask.Reason.REPLACED, None)
            moved += 1
        else:
            task.replaced = True
            task.save()
            _stage_clock_person(task.stage)
            _tell(
                user=approval.owner,
                kind=Notification.Kind.APPROVAL,
                key=f"approval-approver-left:{task.pk}",
                title=_("%(who)s left and nobody stands in for them at “%(step)s”: %(document)s")
                % {"who": user, "step": task.stage.name, "document": approval.document},
                url=_approval_url(approval),
            )
    return moved


# --- the approval sheet ---------------------------------------------------------------------------


def _sheet_enqueue(approval: Approval) -> None:
    from otdel.approvals.tasks import approval_sheet_task

    approval_id = approval.pk
    transaction.on_commit(lambda: approval_sheet_task.enqueue(approval_id))


# A decision as the approval sheet states it.
DECIDED = {
    Decision.APPROVE: pgettext_lazy("decision made", "Approved"),
    Decision.REJECT: pgettext_lazy("decision made", "Rejected"),
    Decision.REWORK: pgettext_lazy("decision made", "Sent for rework"),
}


def sheet_rows(approval: Approval) -> list[dict[str, Any]]:
    rows = []
    for stage in approval.stages.order_by("position", "id"):
        for task in stage.tasks.select_related("assignee", "on_behalf_of").order_by("decided_at", "id"):
            if not task.decision:
                continue
            person = task.assignee
            rows.append(
                {
                    "step": stage.name,
                    "who": person.get_full_name() if person else "—",
                    "role": person.get_role_display() if person else "",
                    "for": task.on_behalf_of.get_full_name() if task.on_behalf_of else "",
                    "decision": DECIDED[Decision(task.decision)],
                    "at": task.decided_at,
                    "comment": task.comment,
                }
            )
    return rows


def sheet_pdf(approval: Approval) -> bytes:
    from django.template.loader import render_to_string
    from django.utils import translation
    from weasyprint import HTML

    with translation.override("ru"):
        html = render_to_string(
            "approvals/sheet_pdf.html",
            {"approval": approval, "document": approval.document, "rows": sheet_rows(approval)},
        )
    return bytes(HTML(string=html).write_pdf())


def approval_sheet_attach(*, approval_id: int) -> DocumentVersion | None:
    """The worker's part: the submitted PDF + the approval sheet -> a new version marked approved."""
    from pypdf import PdfReader, PdfWriter

    from otdel.documents.storage import file_read, file_save

    approval = Approval.objects.select_related("document").filter(pk=approval_id).first()
    if approval is None or approval.status != ApprovalStatus.APPROVED or approval.approved_version:
        return None
    document = approval.document
    source = (
        document.versions.filter(format="pdf", version__lte=approval.document_version)
        .order_by("-version")
        .first()
    )
    writer = PdfWriter()
    if source is not None:
        for page in PdfReader(io.BytesIO(file_read(source.file))).pages:
            writer.add_page(page)
    for page in PdfReader(io.BytesIO(sheet_pdf(approval))).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    base = f"{document.number or document.pk}".replace("/", "-")
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        approval = Approval.objects.select_for_update().get(pk=approval.pk)
        if approval.approved_version:
            return None
        version = max(document.current_version, document.pending_version) + 1
        name = file_save("documents", f"{base}-v{version}-approved.pdf", data)
        row = DocumentVersion.objects.create(
            document=document,
            version=version,
            format="pdf",
            file=name,
            preview=source.preview if source is not None else "",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            pages=len(writer.pages),
            author=approval.owner,
            approved=True,
        )
        document.current_version = version
        document.save()
        approval.approved_version = version
        approval.save()
        record_change(
            document,
            ObjectChange.Action.UPDATE,
            message=f"approved version {version} with the approval sheet",
        )
    return row


# --- departments ----------------------------------------------------------------------------------


@transaction.atomic
def desk_save(*, actor: Any, department: Department, queue: Any = None, sla_hours: int = 8) -> DepartmentDesk:
    with acting_as(actor):
        desk, _created = DepartmentDesk.objects.get_or_create(department=department)
        desk.queue = queue
        desk.sla_hours = _positive_int(sla_hours, "sla_hours", default=8, minimum=1)
        desk.save()
        return desk


def _request_assignee(department: Department, desk: DepartmentDesk | None) -> User | None:
    if desk is not None and desk.queue is not None and desk.queue.is_active:
        from otdel.routing.services import _pick_member

        person = _pick_member(desk.queue, None, assign=True) or _pick_member(
            desk.queue, None, assign=True, on_shift_only=False
        )
        if person is not None:
            return person
    return department.head


@transaction.atomic
def request_create(
    *,
    actor: Any,
    deal: Deal,
    department: Department,
    title: str,
    body: str = "",
    due_at: datetime.datetime | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> DepartmentRequest:
    """A request from a deal to a department; its queue assigns a person, its SLA clock starts."""
    from otdel.documents.storage import file_save

    with acting_as(actor):
        title = (title or "").strip()[:255]
        if not title:
            raise field_error("title", _("Write what you need."), Code.REQUIRED)
        if due_at is not None and due_at < timezone.now():
            raise field_error("due_at", _("The due time has passed already."), Code.INVALID)
        for name, data, _type in attachments or []:
            if len(data) > MAX_ATTACHMENT:
                raise field_error(
                    "attachments", _("“%(name)s” is over 20 MB.") % {"name": name}, Code.TOO_LARGE
                )
        desk = DepartmentDesk.objects.select_related("queue").filter(department=department).first()
        request = DepartmentRequest.objects.create(
            department=department,
            deal=deal,
            title=title,
            body=(body or "").strip(),
            due_at=due_at,
            author=actor if getattr(actor, "pk", None) else None,
            assignee=_request_assignee(department, desk),
        )
        for name, data, content_type in attachments or []:
            RequestAttachment.objects.create(
                request=request,
                filename=name[-255:],
                file=file_save("requests", name, data),
                content_type=(content_type or "")[:100],
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        _clock_start(
            policy=_request_policy(),
            key=REQUEST_TIMER.format(request.pk),
            deal=deal,
            start=timezone.now(),
            hours=desk.sla_hours if desk is not None else 8,
        )
        sla_clock_person(REQUEST_TIMER.format(request.pk), request.assignee)
        for person in {p for p in [request.assignee, department.head] if p is not None}:
            _tell(
                user=person,
                kind=Notification.Kind.APPROVAL,
                key=f"department-request:{request.pk}",
                title=_("Request to %(department)s: %(title)s") % {"department": department, "title": title},
                url=reverse("approvals_department_inbox", args=[department.pk]),
            )
        return request


def may_work_request(user: Any, request: DepartmentRequest) -> bool:
    return bool(
        user.is_admin
        or request.assignee_id == user.pk
        or (user.department_id is not None and user.department_id == request.department_id)
    )


@transaction.atomic
def request_set_status(
    *, actor: Any, request: DepartmentRequest, status: str, comment: str = ""
) -> DepartmentRequest:
    """in_progress / done / declined (a decline needs a comment); a closed request stays closed (409)."""
    with acting_as(actor):
        request = DepartmentRequest.objects.select_for_update().get(pk=request.pk)
        if status not in (RequestStatus.IN_PROGRESS, RequestStatus.DONE, RequestStatus.DECLINED):
            raise field_error("status", _("Choose in progress, done or declined."), Code.INVALID)
        comment = (comment or "").strip()
        if status == RequestStatus.DECLINED and not comment:
            raise field_error("comment", _("Write why the request is declined."), Code.COMMENT_REQUIRED)
        if not may_work_request(actor, request):
            raise ApiError(
                {"__all__": [_("Only the department that got the request changes its status.")]},
                Code.FORBIDDEN,
                status=403,
            )
        if request.status not in OPEN_REQUEST_STATUSES:
            raise ConflictError(_("The request is closed already."), code=Code.REQUEST_CLOSED)
        request.status = status
        if comment:
            request.comment = comment
        if request.assignee is None:
            request.assignee = actor
            sla_clock_person(REQUEST_TIMER.format(request.pk), actor)
        if status in (RequestStatus.DONE, RequestStatus.DECLINED):
            request.closed_at = timezone.now()
            _clock_stop(REQUEST_TIMER.format(request.pk))
            _tell(
                user=request.author,
                kind=Notification.Kind.APPROVAL,
                key=f"department-request-closed:{request.pk}",
                title=_("%(department)s: “%(title)s” — %(status)s")
                % {
                    "department": request.department,
                    "title": request.title,
                    "status": RequestStatus(status).label,
                },
                url=reverse("deal_detail", args=[request.deal_id]),
            )
        request.save()
        return request


def request_overdue(*, request_id: int) -> None:
    request = DepartmentRequest.objects.select_related("department__head").filter(pk=request_id).first()
    if request is None or not request.is_open:
        return
    for person in {p for p in [request.assignee, request.department.head] if p is not None}:
        _tell(
            user=person,
            kind=Notification.Kind.SLA,
            key=f"department-request-overdue:{request.pk}",
            title=_("Request overdue: %(title)s") % {"title": request.title},
            url=reverse("approvals_department_inbox", args=[request.department_id]),
        )

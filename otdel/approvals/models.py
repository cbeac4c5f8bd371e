"""Approval routes of documents (steps, rounds, decisions) and requests between departments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from otdel.core.models import ChangeLoggedModel, TimeStampedModel


class StepMode(models.TextChoices):
    ALL = "all", _("All must approve")
    ANY = "any", _("Any one approves")
    QUORUM = "quorum", _("A quorum approves")


class ApprovalRoute(ChangeLoggedModel):
    """Who approves documents of some kinds: ordered steps, each with its approvers and deadline."""

    name = models.CharField(_("name"), max_length=200)
    document_kinds = models.JSONField(_("document kinds"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("approval route")
        verbose_name_plural = _("approval routes")

    def __str__(self) -> str:
        return self.name


class RouteStep(TimeStampedModel):
    """One step of a route. ``approvers``: ``[{"user": id} | {"role": code} | {"department": id} |
    {"head_of": "responsible"}]``. A step with ``min_amount`` applies only to deals of at least it."""

    route = models.ForeignKey(ApprovalRoute, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=200)
    mode = models.CharField(_("mode"), max_length=8, choices=StepMode.choices, default=StepMode.ALL)
    quorum = models.PositiveSmallIntegerField(_("quorum"), default=1)
    sequential = models.BooleanField(_("one after another"), default=False)
    approvers = models.JSONField(_("approvers"), default=list)
    deadline_hours = models.PositiveIntegerField(_("deadline, working hours"), default=8)
    min_amount = models.DecimalField(
        _("only from the amount"), max_digits=16, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["route", "position", "id"]
        verbose_name = _("route step")
        verbose_name_plural = _("route steps")

    def __str__(self) -> str:
        return self.name


class ApprovalStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REWORK = "rework", _("Sent for rework")
    CANCELLED = "cancelled", _("Cancelled")


class Approval(ChangeLoggedModel):
    """One round of a document through a route. A resubmission after rework starts a new round."""

    document = models.ForeignKey(
        "documents.Document", verbose_name=_("document"), on_delete=models.CASCADE, related_name="approvals"
    )
    route = models.ForeignKey(
        ApprovalRoute, verbose_name=_("route"), on_delete=models.PROTECT, related_name="approvals"
    )
    round = models.PositiveIntegerField(_("round"), default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.IN_PROGRESS
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    document_version = models.PositiveIntegerField(_("document version"), default=0)
    approved_version = models.PositiveIntegerField(_("approved version"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        constraints = [
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(status="in_progress"),
                name="approvals_one_running_per_document",
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_id} / {self.round}"

    @property
    def current_stage(self) -> ApprovalStage | None:
        return next((s for s in self.stages.all() if s.status == StageStatus.ACTIVE), None)


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    ACTIVE = "active", _("Deciding now")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REWORK = "rework", _("Sent for rework")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


class ApprovalStage(TimeStampedModel):
    """A route step as this round runs it (copied, so editing the route later changes no history)."""

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=200)
    mode = models.CharField(_("mode"), max_length=8, choices=StepMode.choices, default=StepMode.ALL)
    quorum = models.PositiveSmallIntegerField(_("quorum"), default=1)
    sequential = models.BooleanField(_("one after another"), default=False)
    approvers = models.JSONField(_("approvers"), default=list)
    deadline_hours = models.PositiveIntegerField(_("deadline, working hours"), default=8)
    status = models.CharField(
        _("status"), max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["approval", "position", "id"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")

    def __str__(self) -> str:
        return self.name

    def needed(self) -> int:
        """How many approvals close the step."""
        count = len([t for t in self.tasks.all() if not t.replaced])
        if self.mode == StepMode.ANY:
            return 1
        if self.mode == StepMode.QUORUM:
            return min(max(self.quorum, 1), count)
        return count


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    REWORK = "rework", _("Send for rework")


class ApprovalTask(TimeStampedModel):
    """One person's decision on a step. ``on_behalf_of``: whom they stand in for (a deputy of an
    absent approver, or the head after an escalation)."""

    class Reason(models.TextChoices):
        NONE = "", _("—")
        DEPUTY = "deputy", _("Deputy of an absent approver")
        ESCALATED = "escalated", _("Escalated to the head")
        REPLACED = "replaced", _("The approver left")

    stage = models.ForeignKey(ApprovalStage, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="approval_tasks",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decides for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("why"), max_length=16, choices=Reason.choices, blank=True, default="")
    # A task handed to someone else (escalation, a deleted approver) stays, marked replaced.
    replaced = models.BooleanField(_("handed over"), default=False)
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["stage", "position", "id"]
        verbose_name = _("approval task")
        verbose_name_plural = _("approval tasks")
        indexes = [models.Index(fields=["assignee", "decision"], name="approvals_task_assignee")]

    def __str__(self) -> str:
        return f"{self.stage_id}: {self.assignee_id} {self.decision}"


class ApprovalEvent(models.Model):
    """What happened on a route, for its history and the deal's timeline."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Sent for approval")
        DECIDED = "decided", _("Decision")
        STEP_DONE = "step_done", _("Step approved")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        REWORK = "rework", _("Sent for rework")
        DELEGATED = "delegated", _("Handed to a deputy")
        ESCALATED = "escalated", _("Escalated")
        REMINDED = "reminded", _("Reminder")
        CANCELLED = "cancelled", _("Cancelled")

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="events")
    deal = models.ForeignKey("crm.Deal", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("approval event")
        verbose_name_plural = _("approval events")

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:40]}"


# --- work between departments --------------------------------------------------------------------


class DepartmentDesk(ChangeLoggedModel):
    """How a department takes requests: the queue that assigns a person, and its service level."""

    department = models.OneToOneField(
        "accounts.Department", verbose_name=_("department"), on_delete=models.CASCADE, related_name="desk"
    )
    queue = models.ForeignKey(
        "routing.Queue",
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sla_hours = models.PositiveIntegerField(_("answer within, working hours"), default=8)

    class Meta:
        verbose_name = _("department desk")
        verbose_name_plural = _("department desks")

    def __str__(self) -> str:
        return str(self.department)


class RequestStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    DECLINED = "declined", _("Declined")


OPEN_REQUEST_STATUSES = (RequestStatus.NEW, RequestStatus.IN_PROGRESS)


class DepartmentRequest(ChangeLoggedModel):
    """ "Legal: check the client's contract": a request from a deal to another department."""

    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="requests"
    )
    deal = models.ForeignKey(
        "crm.Deal", verbose_name=_("deal"), on_delete=models.CASCADE, related_name="department_requests"
    )
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("details"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.NEW, db_index=True
    )
    comment = models.TextField(_("comment"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="department_requests",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("department request")
        verbose_name_plural = _("department requests")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class RequestAttachment(TimeStampedModel):
    request = models.ForeignKey(DepartmentRequest, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    file = models.CharField(max_length=500)  # a name in the documents storage
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("request attachment")
        verbose_name_plural = _("request attachments")

    def __str__(self) -> str:
        return self.filename

"""Input and output shapes of the approvals API (CONTRACTS.md, "Approvals and departments")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from otdel.approvals.models import (
    Approval,
    ApprovalRoute,
    Decision,
    DepartmentRequest,
    RequestStatus,
    StepMode,
)


class StepSerializer(serializers.Serializer):
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=StepMode.choices, default=StepMode.ALL)
    quorum = serializers.IntegerField(required=False, default=1)
    sequential = serializers.BooleanField(required=False, default=False)
    approvers = serializers.ListField(
        child=serializers.DictField(),
        help_text='[{"user": id} | {"role": code} | {"department": id} | {"head_of": "responsible"}]',
    )
    deadline_hours = serializers.IntegerField(required=False, default=8)
    min_amount = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)


class RouteInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    document_kinds = serializers.ListField(child=serializers.CharField())
    steps = serializers.ListField(child=serializers.DictField())
    is_active = serializers.BooleanField(required=False, default=True)


class RouteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    document_kinds = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    steps = serializers.SerializerMethodField()

    def get_steps(self, route: ApprovalRoute) -> list[dict[str, Any]]:
        return [
            {
                "name": s.name,
                "mode": s.mode,
                "quorum": s.quorum,
                "sequential": s.sequential,
                "approvers": s.approvers,
                "deadline_hours": s.deadline_hours,
                "min_amount": str(s.min_amount) if s.min_amount is not None else None,
            }
            for s in route.steps.all()
        ]


class StartInputSerializer(serializers.Serializer):
    route = serializers.IntegerField()


class DecisionInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


def task_data(task: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "approver": task.assignee_id,
        "on_behalf_of": task.on_behalf_of_id,
        "reason": task.reason,
        "replaced": task.replaced,
        "decision": task.decision or None,
        "comment": task.comment,
        "decided_at": task.decided_at.isoformat() if task.decided_at else None,
    }


class ApprovalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.IntegerField(source="document_id")
    deal = serializers.IntegerField(source="document.deal_id")
    route = serializers.IntegerField(source="route_id")
    round = serializers.IntegerField()
    status = serializers.CharField()
    document_version = serializers.IntegerField()
    approved_version = serializers.IntegerField(allow_null=True)
    step = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_step(self, approval: Approval) -> dict[str, Any] | None:
        stage = approval.current_stage
        if stage is None:
            return None
        return {
            "id": stage.pk,
            "position": stage.position,
            "name": stage.name,
            "mode": stage.mode,
            "due_at": stage.due_at.isoformat() if stage.due_at else None,
        }

    def get_steps(self, approval: Approval) -> list[dict[str, Any]]:
        return [
            {
                "id": s.pk,
                "position": s.position,
                "name": s.name,
                "mode": s.mode,
                "quorum": s.quorum,
                "status": s.status,
                "due_at": s.due_at.isoformat() if s.due_at else None,
                "tasks": [task_data(t) for t in s.tasks.all()],
            }
            for s in approval.stages.all()
        ]


class RequestInputSerializer(serializers.Serializer):
    department = serializers.IntegerField()
    deal = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField(required=False, allow_blank=True, default="")
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RequestStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(RequestStatus.IN_PROGRESS, ""), (RequestStatus.DONE, ""), (RequestStatus.DECLINED, "")]
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    department = serializers.IntegerField(source="department_id")
    deal = serializers.IntegerField(source="deal_id")
    title = serializers.CharField()
    body = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    comment = serializers.CharField()
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)
    author = serializers.IntegerField(source="author_id", allow_null=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    attachments = serializers.SerializerMethodField()

    def get_attachments(self, request: DepartmentRequest) -> list[dict[str, Any]]:
        return [{"id": a.pk, "filename": a.filename, "size": a.size} for a in request.attachments.all()]

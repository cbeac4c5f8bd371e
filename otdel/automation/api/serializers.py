"""Serializers of the automation API: tasks, rules and their runs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from otdel.accounts.models import User
from otdel.api.base import ScopedPrimaryKeyRelatedField
from otdel.automation.models import Rule, RuleRun, SlaPolicy, WebhookDelivery
from otdel.crm.models import Contact, Deal, Lead, Task

TASK_KINDS_HELP = "call_back, todo, meeting or email"


class TaskSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField(help_text="open, done or overdue")
    # A plain string: another app's "kind" enum would collide in the schema.
    kind = serializers.CharField(read_only=True, help_text=TASK_KINDS_HELP)

    class Meta:
        model = Task
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "assignee",
            "due_at",
            "done_at",
            "contact",
            "deal",
            "lead",
            "state",
            "created_at",
        ]

    def get_state(self, task: Task) -> str:
        from django.utils import timezone

        if task.done_at is not None:
            return "done"
        if task.due_at is not None and task.due_at < timezone.now():
            return "overdue"
        return "open"


class TaskInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.CharField(required=False, help_text=TASK_KINDS_HELP)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    deal = ScopedPrimaryKeyRelatedField(queryset=Deal.objects.all(), required=False, allow_null=True)
    contact = ScopedPrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False, allow_null=True)
    lead = ScopedPrimaryKeyRelatedField(queryset=Lead.objects.all(), required=False, allow_null=True)

    def validate_kind(self, value: str) -> str:
        if value not in Task.Kind.values:
            raise serializers.ValidationError(f"One of {TASK_KINDS_HELP}.")
        return value


class RuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "is_active",
            "trigger",
            "conditions",
            "delay_minutes",
            "working_time",
            "actions",
            "pipeline",
            "paused_reason",
            "created_at",
        ]


class RuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(default=True)
    trigger = serializers.DictField()
    conditions = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    delay_minutes = serializers.IntegerField(min_value=0, max_value=60 * 24 * 365, default=0)
    working_time = serializers.BooleanField(default=False)
    actions = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "url",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "next_attempt_at",
            "delivered_at",
        ]


class RuleRunSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    at = serializers.SerializerMethodField()
    deliveries = WebhookDeliverySerializer(many=True, read_only=True)

    class Meta:
        model = RuleRun
        fields = ["id", "at", "due_at", "subject", "occurrence", "outcome", "reason", "deliveries"]

    def get_subject(self, run: RuleRun) -> dict[str, Any]:
        return {"type": run.subject_type, "id": run.subject_id}

    def get_at(self, run: RuleRun) -> str | None:
        moment = run.finished_at or run.created_at
        return moment.isoformat() if moment else None


class SlaPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "is_active",
            "target",
            "applies_to",
            "minutes",
            "working_time",
            "warn_at_percent",
            "on_warn",
            "on_breach",
        ]


class SlaPolicyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(default=True)
    target = serializers.ChoiceField(choices=SlaPolicy.Target.choices)
    applies_to = serializers.DictField(required=False, default=dict)
    minutes = serializers.IntegerField(min_value=1, max_value=60 * 24 * 365)
    working_time = serializers.BooleanField(default=True)
    warn_at_percent = serializers.IntegerField(min_value=0, max_value=100, default=80)
    on_warn = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    on_breach = serializers.ListField(child=serializers.DictField(), required=False, default=list)

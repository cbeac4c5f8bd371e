"""Serializers of the routing API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from otdel.routing.models import BlockedIdentity, Queue, RoutingDecision, RoutingSettings


class QueueInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=120)
    strategy = serializers.ChoiceField(choices=Queue.Strategy.choices, default=Queue.Strategy.ROUND_ROBIN)
    members = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    off_hours = serializers.ChoiceField(choices=["duty", "next_morning", "voicemail"], required=False)
    duty_user = serializers.IntegerField(required=False, allow_null=True)
    voicemail = serializers.CharField(required=False, allow_blank=True, max_length=64)
    is_active = serializers.BooleanField(required=False)


class QueueSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = Queue
        fields = [
            "id",
            "code",
            "name",
            "strategy",
            "members",
            "off_hours",
            "duty_user",
            "voicemail",
            "is_active",
            "version",
        ]

    def get_members(self, obj: Queue) -> list[int]:
        return [m.user_id for m in obj.memberships.all()]


# Where a call goes: a queue by code or a user by id (CONTRACTS.md, routing settings).
DESTINATION_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"queue": {"type": "string"}},
            "required": ["queue"],
        },
        {
            "type": "object",
            "properties": {"user": {"type": "integer"}},
            "required": ["user"],
        },
    ],
}


@extend_schema_field(DESTINATION_SCHEMA)
class DestinationField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not ({"queue", "user"} & set(data)):
            raise serializers.ValidationError('Give {"queue": code} or {"user": id}.')
        return data


class RoutingSettingsInputSerializer(serializers.Serializer):
    non_target_destination = DestinationField(required=False)
    default_queue = serializers.CharField(required=False, allow_blank=True)
    fallback_user = serializers.IntegerField(required=False)
    repeat_rule = serializers.ChoiceField(choices=RoutingSettings.RepeatRule.choices, required=False)
    callback_minutes = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60)


class RoutingSettingsSerializer(serializers.ModelSerializer):
    non_target_destination = serializers.SerializerMethodField()
    default_queue: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = RoutingSettings
        fields = [
            "non_target_destination",
            "default_queue",
            "fallback_user",
            "repeat_rule",
            "callback_minutes",
        ]

    def get_non_target_destination(self, obj: RoutingSettings) -> dict[str, Any] | None:
        if obj.non_target_user_id:
            return {"user": obj.non_target_user_id}
        if obj.non_target_queue_id:
            return {"queue": obj.non_target_queue.code if obj.non_target_queue else None}
        return None


class RoutingDecisionSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    user_name = serializers.CharField(source="user.get_full_name", read_only=True, default="")

    class Meta:
        model = RoutingDecision
        fields = [
            "id",
            "created_at",
            "channel",
            "input",
            "contact",
            "reason",
            "rule",
            "user",
            "user_name",
            "queue",
            "live",
        ]


class BlockedIdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = BlockedIdentity
        fields = ["id", "kind", "value", "reason", "comment", "created_at", "created_by"]
        read_only_fields = ["id", "created_at", "created_by"]

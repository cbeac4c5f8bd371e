"""Serializers of the accounts API: users as administrators see them, and the token exchange."""

from __future__ import annotations

from rest_framework import serializers

from otdel.accounts.models import ApiToken, Department, Role, TokenScope, User
from otdel.accounts.tokens import token_is_live


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Administrators: the code from the authenticator app (or a recovery code)",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`")


class UserSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True, default=None)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "role",
            "department",
            "department_name",
            "extension",
            "phone",
            "language",
            "work_days",
            "work_start",
            "work_end",
            "is_active",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class UserUpdateInputSerializer(serializers.Serializer):
    """What an administrator may change; every field is optional (PATCH)."""

    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    extension = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=list(User._meta.get_field("language").choices or []), required=False
    )
    work_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        help_text="Working weekdays, Monday = 0",
    )
    work_start = serializers.TimeField(required=False)
    work_end = serializers.TimeField(required=False)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class UserCreateInputSerializer(UserUpdateInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=Role.choices, default=Role.SALES_MANAGER)


class IntegrationTokenSerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.__str__", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "scopes",
            "user",
            "user_name",
            "prefix",
            "created_at",
            "created_by",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_used_ip",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, token: ApiToken) -> bool:
        return token_is_live(token)


class IntegrationTokenCreatedSerializer(IntegrationTokenSerializer):
    token = serializers.CharField(
        help_text="The secret: shown this once. Send it as `Authorization: Token <token>`"
    )

    class Meta(IntegrationTokenSerializer.Meta):
        fields = [*IntegrationTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class IntegrationTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices), allow_empty=False, max_length=10
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Acts as this user (within the scopes); omitted: a technical account of its own",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

"""Serializers of the accounts API: users as administrators see them, and the token exchange."""

from __future__ import annotations

from rest_framework import serializers

from otdel.accounts.models import Department, Role, User


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


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

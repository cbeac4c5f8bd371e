"""Writes to accounts: creating users and changing their settings."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from otdel.accounts.models import Department, Role, User
from otdel.core.changelog import record_change
from otdel.core.exceptions import ConflictError, field_error
from otdel.core.models import ObjectChange

USER_FIELDS = {
    "full_name",
    "email",
    "role",
    "department",
    "extension",
    "phone",
    "language",
    "work_days",
    "work_start",
    "work_end",
    "is_active",
}


def _check_unique(user: User) -> None:
    if User.objects.filter(username__iexact=user.username).exclude(pk=user.pk).exists():
        raise ConflictError(
            _("A user named “%(name)s” already exists.") % {"name": user.username},
            code="username_taken",
            field="username",
        )
    if user.extension and User.objects.filter(extension=user.extension).exclude(pk=user.pk).exists():
        raise ConflictError(
            _("Extension %(ext)s is already given to another user.") % {"ext": user.extension},
            code="extension_taken",
            field="extension",
        )


@transaction.atomic
def user_create(*, actor: Any, username: str, password: str, **fields: Any) -> User:
    unknown = set(fields) - USER_FIELDS
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    if fields.get("role") and fields["role"] not in Role.values:
        raise field_error("role", _("Unknown role."), "invalid_role")
    user = User(username=(username or "").strip(), **fields)
    if user.extension == "":
        user.extension = None
    if not password:
        raise field_error("password", _("Set a password."), "required")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.is_staff = user.role == Role.ADMIN
    user.full_clean(exclude=["password"], validate_unique=False)
    _check_unique(user)
    user.save()
    record_change(user, ObjectChange.Action.CREATE, changes={**fields, "username": user.username}, user=actor)
    return user


@transaction.atomic
def user_update(*, actor: Any, user: User, password: str | None = None, **fields: Any) -> User:
    unknown = set(fields) - USER_FIELDS
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    before = {name: getattr(user, name) for name in fields}
    for name, value in fields.items():
        setattr(user, name, value)
    if user.extension == "":
        user.extension = None
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    user.is_staff = user.role == Role.ADMIN or user.is_superuser
    user.full_clean(exclude=["password"], validate_unique=False)
    _check_unique(user)
    user.save()
    diff = {k: [before[k], getattr(user, k)] for k in fields if before[k] != getattr(user, k)}
    if diff or password:
        record_change(user, ObjectChange.Action.UPDATE, changes=diff, user=actor)
    return user


@transaction.atomic
def department_create(*, actor: Any, name: str, head: User | None = None) -> Department:
    department = Department(name=(name or "").strip(), head=head)
    department.full_clean()
    department.save()
    return department


@transaction.atomic
def department_update(
    *, actor: Any, department: Department, name: str, head: User | None = None
) -> Department:
    before = {"name": department.name, "head": department.head_id}
    department.name = (name or "").strip()
    department.head = head
    department.full_clean()
    department.save()
    after = {"name": department.name, "head": department.head_id}
    diff = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if diff:
        record_change(department, ObjectChange.Action.UPDATE, changes=diff, user=actor)
    return department

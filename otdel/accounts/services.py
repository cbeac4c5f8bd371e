"""Writes to accounts: creating users and changing their settings."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from otdel.accounts import tokens
from otdel.accounts.models import Absence, ApiToken, Department, Role, TokenScope, User
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


# --- absences ------------------------------------------------------------------------------------

ABSENCE_FIELDS = {"kind", "start", "end", "backup", "comment"}


def _check_absence(absence: Any) -> None:
    """Field errors for an absence that makes no sense: backwards dates, no real backup, an overlap."""
    from django.utils.formats import date_format

    errors: dict[str, str] = {}
    start, end = absence.start, absence.end
    if start and end and end < start:
        errors["end"] = _("The absence must end on or after its first day.")
    backup = absence.backup
    if backup is not None:
        if backup.pk == absence.user_id:
            errors["backup"] = _("Someone else must cover: choose another person as the backup.")
        elif not backup.is_active:
            errors["backup"] = _("“%(name)s” is deactivated; choose an active user as the backup.") % {
                "name": backup
            }
    if start and end and "end" not in errors:
        overlap = (
            Absence.objects.filter(user_id=absence.user_id, start__lte=end, end__gte=start)
            .exclude(pk=absence.pk)
            .order_by("start")
            .first()
        )
        if overlap is not None:
            errors["start"] = _(
                "%(name)s is already away from %(start)s to %(end)s; absences cannot overlap."
            ) % {
                "name": absence.user,
                "start": date_format(overlap.start, "SHORT_DATE_FORMAT"),
                "end": date_format(overlap.end, "SHORT_DATE_FORMAT"),
            }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def absence_create(
    *,
    actor: Any,
    user: User,
    start: Any,
    end: Any,
    kind: str = "vacation",
    backup: User | None = None,
    comment: str = "",
) -> Any:
    """Record a vacation, sick leave or trip; routing skips the user and sends their traffic to the backup."""
    absence = Absence(
        user=user, kind=kind, start=start, end=end, backup=backup, comment=(comment or "").strip()
    )
    _check_absence(absence)
    absence.full_clean()
    absence.save()
    record_change(
        absence,
        ObjectChange.Action.CREATE,
        changes={
            "user": user.pk,
            "kind": kind,
            "start": start,
            "end": end,
            "backup": backup,
            "comment": comment,
        },
        user=actor,
    )
    return absence


@transaction.atomic
def absence_update(*, actor: Any, absence: Any, **fields: Any) -> Any:
    unknown = set(fields) - ABSENCE_FIELDS
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    before = {name: getattr(absence, name) for name in fields}
    for name, value in fields.items():
        setattr(absence, name, value)
    _check_absence(absence)
    absence.full_clean()
    absence.save()
    diff = {k: [before[k], getattr(absence, k)] for k in fields if before[k] != getattr(absence, k)}
    if diff:
        record_change(absence, ObjectChange.Action.UPDATE, changes=diff, user=actor)
    return absence


@transaction.atomic
def absence_delete(*, actor: Any, absence: Any) -> None:
    record_change(
        absence,
        ObjectChange.Action.DELETE,
        changes={"user": absence.user_id, "kind": absence.kind, "start": absence.start, "end": absence.end},
        user=actor,
    )
    absence.delete()


# --- API tokens ----------------------------------------------------------------------------------


def user_token_issue(*, user: User) -> str:
    """A new personal API token of ``user`` (``POST /auth/token``); returns the secret, shown once.

    Expires after ``OTDEL_API_TOKEN_DAYS`` (technical accounts' never do); the user's expired and
    revoked tokens are cleared on the way.
    """
    now = timezone.now()
    ApiToken.objects.filter(user=user, kind=ApiToken.Kind.USER).filter(
        Q(expires_at__lte=now) | Q(revoked_at__isnull=False)
    ).delete()
    secret = tokens.new_secret()
    ApiToken.objects.create(
        user=user,
        kind=ApiToken.Kind.USER,
        key_hash=tokens.key_hash(secret),
        prefix=secret[:10],
        expires_at=tokens.expires_for(user),
        last_used_at=now,  # signing in with the password is its first use
    )
    return secret


@transaction.atomic
def integration_token_create(
    *,
    actor: Any,
    name: str,
    scopes: list[str],
    user: User | None = None,
    expires_at: datetime.datetime | None = None,
) -> tuple[ApiToken, str]:
    """An integration token for a PBX or a script; returns it and its secret (shown once).

    Without ``user`` the token gets its own technical account (role "integration", no password), so
    it never depends on a person staying employed; with one it acts as that user, within its scopes.
    """
    name = (name or "").strip()
    if not name:
        raise field_error("name", _("Name the token after what will use it."), "required")
    if len(name) > 120:
        raise field_error("name", _("At most 120 characters."), "max_length")
    if not isinstance(scopes, list) or not scopes:
        raise field_error("scopes", _("Choose at least one scope."), "required")
    unknown = [s for s in scopes if s not in TokenScope.values]
    if unknown:
        raise field_error(
            "scopes",
            _("Unknown scope: %(scopes)s. Known: %(known)s.")
            % {"scopes": ", ".join(map(str, unknown)), "known": ", ".join(TokenScope.values)},
            "invalid_scope",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise field_error("expires_at", _("The expiry date has passed."), "invalid")
    if user is None:
        user = User(username=_technical_username(name), full_name=name, role=Role.INTEGRATION)
        user.set_unusable_password()
        user.save()
        record_change(user, ObjectChange.Action.CREATE, changes={"username": user.username}, user=actor)
    elif not user.is_active:
        raise field_error("user", _("This user is switched off."), "inactive")
    secret = tokens.new_secret()
    token = ApiToken.objects.create(
        user=user,
        kind=ApiToken.Kind.INTEGRATION,
        name=name,
        scopes=sorted(set(scopes)),
        key_hash=tokens.key_hash(secret),
        prefix=secret[:10],
        expires_at=expires_at,
        created_by=actor if isinstance(actor, User) else None,
    )
    return token, secret


def _technical_username(name: str) -> str:
    base = "integration-" + (slugify(name, allow_unicode=True)[:40] or "token")
    username, n = base, 1
    while User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


@transaction.atomic
def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke at once (every process within the route cache's few seconds). Repeats are harmless."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token


def tokens_revoke_for(*, user: User, kinds: tuple[str, ...]) -> int:
    """Revoke every live token of ``user`` of these kinds (password change, switching off)."""
    # Called from the user's post_save, which also makes the route's token memory forget (routing).
    live = ApiToken.objects.filter(user=user, kind__in=kinds, revoked_at__isnull=True)
    return live.update(revoked_at=timezone.now())

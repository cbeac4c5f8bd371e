"""Writes ObjectChange rows for ChangeLoggedModel saves and deletes, and for service actions."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from otdel.core.context import current_actor
from otdel.core.exceptions import ConflictError
from otdel.core.models import ChangeLoggedModel, ObjectChange


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return value.pk
    return value


def record_change(
    instance: models.Model,
    action: str,
    *,
    changes: dict[str, Any] | None = None,
    message: str = "",
    user: Any = None,
) -> ObjectChange:
    """Write one change-log row; services call this for actions that are not plain saves."""
    change = change_row(instance, action, changes=changes, message=message, user=user)
    change.save()
    return change


def change_row(
    instance: models.Model,
    action: str,
    *,
    changes: dict[str, Any] | None = None,
    message: str = "",
    user: Any = None,
) -> ObjectChange:
    """The change-log row ``record_change`` writes, unsaved (batch writers ``bulk_create`` them).

    ``bulk_create`` sends no ``post_save``: a batch writer of deals' stage changes must open their
    stage visits itself (``reports.history``); contacts and companies need nothing more."""
    actor = user if user is not None else current_actor()
    return ObjectChange(
        user=actor if getattr(actor, "pk", None) else None,
        user_name=(actor.get_full_name() or actor.get_username()) if actor else "",
        action=action,
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
        object_id=instance.pk,
        object_repr=str(instance)[:200],
        changes=_jsonable(changes or {}),
        message=message[:300],
    )


@receiver(pre_save)
def _bump_version(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or not isinstance(instance, ChangeLoggedModel) or instance._state.adding:
        return
    instance.version = (instance.version or 0) + 1


@receiver(post_save)
def _log_save(sender: type, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw or not isinstance(instance, ChangeLoggedModel):
        return
    snapshot = instance.changelog_snapshot()
    if created:
        record_change(instance, ObjectChange.Action.CREATE, changes=snapshot)
    else:
        before = getattr(instance, "_loaded_values", None) or {}
        diff = {
            name: [before.get(name), value]
            for name, value in snapshot.items()
            if name in before and _jsonable(before.get(name)) != _jsonable(value)
        }
        if diff:
            record_change(instance, ObjectChange.Action.UPDATE, changes=diff)
    instance._loaded_values = {**snapshot, "version": instance.version}


@receiver(post_delete)
def _log_delete(sender: type, instance: Any, **kwargs: Any) -> None:
    if isinstance(instance, ChangeLoggedModel):
        record_change(instance, ObjectChange.Action.DELETE, changes=instance.changelog_snapshot())


def check_version(instance: ChangeLoggedModel, expected_version: int | None) -> None:
    """Refuse to overwrite a record someone else saved since the caller read it."""
    if expected_version is None:
        return
    current = type(instance)._default_manager.filter(pk=instance.pk).values_list("version", flat=True).first()
    if current is not None and int(expected_version) != current:
        raise ConflictError(
            _(
                "This record was changed by someone else while you were editing it. "
                "Reload it to see the changes, then save again."
            ),
            code="stale_version",
        )

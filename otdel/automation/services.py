"""Writes of notifications and automation rules."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.automation.models import Notification, NotificationSettings, Rule, SlaPolicy
from otdel.automation.selectors import notification_list
from otdel.live.services import live_publish


def notify(
    *, user: Any, kind: str, key: str, title: str, url: str = "", contact: Any = None
) -> Notification | None:
    """Tell ``user`` about something, once per ``key``; None when nobody is to be told.

    An inactive user gets nothing. Delivering the same event again (a retried webhook, a worker
    that ran a task twice) changes nothing.
    """
    if user is None or not user.is_active:
        return None
    try:
        with transaction.atomic():
            notification, created = Notification.objects.get_or_create(
                user=user,
                key=key,
                defaults={"kind": kind, "title": title[:255], "url": url[:500], "contact": contact},
            )
            if created:
                from otdel.automation.delivery import deliveries_plan

                deliveries_plan(notification)  # e-mail / Telegram, as the user chose
                # The bell of every open tab refreshes at once (polling stays as the fallback).
                live_publish(user_ids=[user.pk], kind="notification", data={"id": notification.pk})
    except IntegrityError:  # the same event, delivered twice at the same moment
        notification = Notification.objects.get(user=user, key=key)
    return notification


def notification_open(*, user: Any, pk: int) -> Notification:
    """Mark one of the user's notifications read (raises DoesNotExist for anyone else's)."""
    notification = notification_list(user=user).get(pk=pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def notification_settings_save(
    *, user: Any, channels: dict[str, list[str]], remind_before_minutes: int
) -> NotificationSettings:
    """Which kinds reach ``user`` by which channels (unknown kinds and channels are dropped)."""
    kinds, known = set(Notification.Kind.values), set(NotificationSettings.Channel.values)
    chosen, _created = NotificationSettings.objects.get_or_create(user=user)
    chosen.channels = {
        kind: sorted(set(wanted) & known) for kind, wanted in channels.items() if kind in kinds and wanted
    }
    chosen.remind_before_minutes = remind_before_minutes
    chosen.save(update_fields=["channels", "remind_before_minutes", "updated_at"])
    return chosen


def notifications_read_all(*, user: Any) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).update(read_at=timezone.now())


# --- automation rules ---------------------------------------------------------------------------


@transaction.atomic
def rule_create(
    *,
    actor: Any,
    name: str,
    trigger: dict[str, Any],
    actions: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
    delay_minutes: int = 0,
    working_time: bool = False,
    is_active: bool = True,
) -> Rule:
    """A new rule; an unknown event, stage, queue, user, field or operator is an ApiError naming it."""
    from otdel.automation.rules import validate

    conditions = conditions or []
    refs = validate(trigger=trigger, conditions=conditions, actions=actions)
    return Rule.objects.create(
        name=name.strip()[:200],
        is_active=is_active,
        event=refs["event"],
        trigger=trigger,
        conditions=conditions,
        delay_minutes=delay_minutes,
        working_time=working_time,
        actions=actions,
        stage=refs["stage"],
        pipeline=refs["pipeline"],
        created_by=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def rule_update(*, actor: Any, rule: Rule, **fields: Any) -> Rule:
    from otdel.automation.rules import validate

    for field in ("name", "trigger", "conditions", "delay_minutes", "working_time", "actions", "is_active"):
        if field in fields:
            setattr(rule, field, fields[field])
    refs = validate(trigger=rule.trigger, conditions=rule.conditions, actions=rule.actions)
    rule.event, rule.stage, rule.pipeline = refs["event"], refs["stage"], refs["pipeline"]
    if fields.get("is_active"):
        rule.paused_reason = ""
    rule.save()
    return rule


def rule_delete(*, actor: Any, rule: Rule) -> None:
    rule.delete()


def sla_policy_create(*, actor: Any, name: str, target: str, minutes: int, **fields: Any) -> SlaPolicy:
    """A service level; its warn/breach actions are checked like a rule's (unknown references -> 400)."""
    from otdel.automation.errors import AutomationErrorCode
    from otdel.automation.rules import validate_actions
    from otdel.core.exceptions import ApiError
    from otdel.crm.models import Pipeline, Stage, Task

    applies = fields.get("applies_to") or {}
    if (
        applies.get("stage") not in (None, "")
        and not Stage.objects.filter(pk=_pk(applies["stage"]) or 0).exists()
    ):
        raise ApiError(
            {"applies_to.stage": [f"There is no stage with the id {applies['stage']}."]},
            AutomationErrorCode.UNKNOWN_STAGE,
        )
    if (
        applies.get("pipeline") not in (None, "")
        and not Pipeline.objects.filter(pk=_pk(applies["pipeline"]) or 0).exists()
    ):
        raise ApiError(
            {"applies_to.pipeline": [f"There is no pipeline with the id {applies['pipeline']}."]},
            AutomationErrorCode.INVALID,
        )
    if applies.get("kind") not in (None, "") and applies["kind"] not in Task.Kind.values:
        raise ApiError(
            {"applies_to.kind": [_("Unknown kind of task “%(kind)s”.") % {"kind": applies["kind"]}]},
            AutomationErrorCode.INVALID,
        )
    for key in ("on_warn", "on_breach"):
        if fields.get(key):
            validate_actions(fields[key], key)
    return SlaPolicy.objects.create(name=name.strip()[:200], target=target, minutes=minutes, **fields)


def _pk(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

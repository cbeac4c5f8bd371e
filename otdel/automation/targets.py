"""What a rule points at (stages, people, queues, document templates), and pausing a rule whose
target is gone: deleted, switched off, deactivated. The reason is shown on the rule, administrators
are told; switching the rule on again after fixing it clears the pause."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.automation.models import Rule, SlaPolicy
from otdel.crm.models import Stage


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rule_targets(rule: Rule) -> set[tuple[str, Any]]:
    """``{("stage", 3), ("user", 7), ("queue", "sales"), ("template", 2)}``."""
    found = actions_targets(rule.actions)
    if (stage := _int((rule.trigger or {}).get("stage"))) is not None:
        found.add(("stage", stage))
    return found


def actions_targets(actions: Any) -> set[tuple[str, Any]]:
    """What a list of actions (a rule's, or an SLA policy's on warning / on breach) points at."""
    found: set[tuple[str, Any]] = set()
    for action in actions or []:
        if not isinstance(action, dict):
            continue
        kind = action.get("action")
        if kind == "move_stage" and (stage := _int(action.get("stage"))) is not None:
            found.add(("stage", stage))
        elif kind == "assign":
            found.add(("queue", str(action.get("queue"))))
        elif kind == "generate_document" and (template := _int(action.get("template"))) is not None:
            found.add(("template", template))
        for key in ("assignee", "to"):
            value = action.get(key)
            if isinstance(value, dict) and (user := _int(value.get("user"))) is not None:
                found.add(("user", user))
    return found


def missing_target(rule: Rule) -> str:
    """Why the rule cannot run as written (a target gone), or ""."""
    return _missing(rule_targets(rule))


def policy_missing_target(policy: SlaPolicy) -> str:
    """Why an SLA policy's warning or escalation cannot reach its target as written, or "".

    A policy is not paused for it (the clock keeps running and a breach is still reported, see
    ``sla._fire``); the reason is shown on the policy so that someone fixes it.
    """
    return _missing(actions_targets([*(policy.on_warn or []), *(policy.on_breach or [])]))


def _missing(targets: set[tuple[str, Any]]) -> str:
    from otdel.documents.models import DocumentTemplate
    from otdel.routing.models import Queue

    for kind, ref in sorted(targets, key=str):
        if kind == "stage" and not Stage.objects.filter(pk=ref).exists():
            return _("the stage %(id)s was deleted") % {"id": ref}
        if kind == "user" and not User.objects.filter(pk=ref, is_active=True).exists():
            return _("the user %(id)s was deactivated or deleted") % {"id": ref}
        if kind == "queue" and not Queue.objects.filter(code=ref).exists():
            return _("the queue “%(code)s” was deleted") % {"code": ref}
        if kind == "template" and not DocumentTemplate.objects.filter(pk=ref, is_active=True).exists():
            return _("the document template %(id)s was switched off or deleted") % {"id": ref}
    return ""


def rules_pause_for(kind: str, ref: Any, reason: str) -> int:
    """Pause every running rule that points at ``(kind, ref)``; returns how many."""
    from otdel.automation.rules import rule_pause

    paused = 0
    for rule in Rule.objects.filter(paused_reason=""):
        if (kind, ref) in rule_targets(rule):
            rule_pause(rule, reason)
            paused += 1
    return paused


@receiver(pre_delete, sender=Stage)
def _stage_deleted(sender: Any, instance: Stage, **kwargs: Any) -> None:
    rules_pause_for("stage", instance.pk, _("the stage “%(name)s” was deleted") % {"name": instance.name})


@receiver(pre_delete, sender=User)
def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    rules_pause_for("user", instance.pk, _("%(name)s was deleted") % {"name": instance.get_full_name()})


@receiver(post_save, sender=User)
def _user_deactivated(sender: Any, instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        rules_pause_for(
            "user", instance.pk, _("%(name)s was deactivated") % {"name": instance.get_full_name()}
        )


def connect() -> None:
    """Receivers on models of apps that load after automation (called from ``ready``)."""
    from otdel.documents.models import DocumentTemplate
    from otdel.routing.models import Queue

    def queue_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
        rules_pause_for(
            "queue", instance.code, _("the queue “%(name)s” was deleted") % {"name": instance.name}
        )

    def template_gone(sender: Any, instance: Any, **kwargs: Any) -> None:
        if kwargs.get("signal") is pre_delete or not instance.is_active:
            rules_pause_for(
                "template",
                instance.pk,
                _("the document template “%(name)s” was switched off or deleted") % {"name": instance.name},
            )

    pre_delete.connect(queue_deleted, sender=Queue, weak=False, dispatch_uid="automation_queue_deleted")
    pre_delete.connect(template_gone, sender=DocumentTemplate, weak=False, dispatch_uid="automation_tpl_del")
    post_save.connect(template_gone, sender=DocumentTemplate, weak=False, dispatch_uid="automation_tpl_off")

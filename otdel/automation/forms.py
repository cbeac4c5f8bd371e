"""Forms of the rule editor and the SLA policies: one action per form (the API takes any list)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otdel.automation.models import SlaPolicy
from otdel.core.events import CATALOG
from otdel.crm.models import Channel, LeadSource, Stage

ACTION_CHOICES = [
    ("task", _("Create a task")),
    ("notify", _("Send a notification")),
    ("assign", _("Hand over through a queue")),
    ("move_stage", _("Move to a stage")),
    ("webhook", _("Call a webhook")),
    ("start_approval", _("Send the deal's document for approval")),
]
TO_CHOICES = [("responsible", _("the responsible")), ("head_of_sales", _("the head of sales"))]


class _Styled:
    """Bootstrap classes on every widget."""

    fields: dict[str, Any]

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


def _queues() -> list[tuple[str, str]]:
    from otdel.routing.models import Queue

    return [("", "—")] + [(q.code, q.name) for q in Queue.objects.order_by("name")]


def _routes() -> list[tuple[str, str]]:
    from otdel.approvals.models import ApprovalRoute

    return [("", "—")] + [(str(r.pk), r.name) for r in ApprovalRoute.objects.filter(is_active=True)]


class RuleForm(_Styled, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    event = forms.ChoiceField(label=_("When"), choices=())
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False)
    conditions = forms.CharField(
        label=_("Conditions (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            'For example [{"field": "amount", "op": "gte", "value": "100000"}]; {"any": [...]} for OR.'
        ),
    )
    delay_minutes = forms.IntegerField(label=_("Delay, minutes"), min_value=0, initial=0)
    working_time = forms.BooleanField(label=_("Count working time only"), required=False)
    action = forms.ChoiceField(label=_("Do"), choices=ACTION_CHOICES)
    title = forms.CharField(label=_("Task or notification text"), max_length=255, required=False)
    due_in_minutes = forms.IntegerField(label=_("Task due in, minutes"), min_value=0, required=False)
    to = forms.ChoiceField(label=_("Notify"), choices=TO_CHOICES, required=False)
    queue = forms.ChoiceField(label=_("Queue"), choices=(), required=False)
    target_stage = forms.ModelChoiceField(
        label=_("Target stage"), queryset=Stage.objects.none(), required=False
    )
    url = forms.URLField(label=_("Webhook URL"), required=False, assume_scheme="https")
    secret = forms.CharField(label=_("Webhook secret"), max_length=200, required=False)
    route = forms.ChoiceField(label=_("Approval route"), choices=(), required=False)

    def __init__(self, *args: Any, pipeline: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [(name, name) for name in sorted(CATALOG)]  # type: ignore[attr-defined]
        stages = (
            Stage.objects.filter(pipeline=pipeline) if pipeline else Stage.objects.select_related("pipeline")
        )
        self.fields["stage"].queryset = stages  # type: ignore[attr-defined]
        self.fields["target_stage"].queryset = stages  # type: ignore[attr-defined]
        self.fields["queue"].choices = _queues()  # type: ignore[attr-defined]
        self.fields["route"].choices = _routes()  # type: ignore[attr-defined]
        self.style()

    def clean_conditions(self) -> list[Any]:
        raw = (self.cleaned_data.get("conditions") or "").strip()
        if not raw:
            return []
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON.")) from exc
        if not isinstance(value, list):
            raise forms.ValidationError(_("A list of conditions."))
        return value

    def rule_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        trigger: dict[str, Any] = {"event": data["event"]}
        if data.get("stage"):
            trigger["stage"] = data["stage"].pk
        kind = data["action"]
        action: dict[str, Any] = {"action": kind}
        if kind == "task":
            action.update(
                title=data.get("title") or "",
                due_in_minutes=data.get("due_in_minutes") or 0,
                assignee="responsible",
            )
        elif kind == "notify":
            action.update(to=data.get("to") or "responsible", text=data.get("title") or "")
        elif kind == "assign":
            action.update(queue=data.get("queue") or "")
        elif kind == "move_stage":
            action.update(stage=data["target_stage"].pk if data.get("target_stage") else None)
        elif kind == "webhook":
            action.update(url=data.get("url") or "", secret=data.get("secret") or "")
        elif kind == "start_approval":
            action.update(route=int(data["route"]) if data.get("route") else None)
        return {
            "name": data["name"],
            "trigger": trigger,
            "conditions": data.get("conditions") or [],
            "delay_minutes": data.get("delay_minutes") or 0,
            "working_time": bool(data.get("working_time")),
            "actions": [action],
        }


class SlaPolicyForm(_Styled, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    target = forms.ChoiceField(label=_("Target"), choices=SlaPolicy.Target.choices)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("any")), *list(Channel.choices)], required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", _("any")), *list(LeadSource.choices)], required=False
    )
    stage = forms.ModelChoiceField(
        label=_("Stage (time in stage)"), queryset=Stage.objects.select_related("pipeline"), required=False
    )
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1)
    working_time = forms.BooleanField(label=_("Count working time only"), required=False, initial=True)
    warn_at_percent = forms.IntegerField(label=_("Warn at, %"), min_value=0, max_value=100, initial=80)
    warn_responsible = forms.BooleanField(
        label=_("On warning: notify the responsible"), required=False, initial=True
    )
    breach_head = forms.BooleanField(
        label=_("On breach: notify the head of sales"), required=False, initial=True
    )
    breach_queue = forms.ChoiceField(
        label=_("On breach: hand over through the queue"), choices=(), required=False
    )
    breach_task = forms.CharField(
        label=_("On breach: task for the responsible"), max_length=255, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["breach_queue"].choices = _queues()  # type: ignore[attr-defined]
        self.style()

    def policy_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        applies: dict[str, Any] = {}
        for key in ("channel", "source"):
            if data.get(key):
                applies[key] = data[key]
        if data.get("stage"):
            applies["stage"] = data["stage"].pk
        on_warn: list[dict[str, Any]] = []
        if data.get("warn_responsible"):
            on_warn.append(
                {"action": "notify", "to": "responsible", "text": str(_("The time to answer is running out"))}
            )
        on_breach: list[dict[str, Any]] = []
        if data.get("breach_head"):
            on_breach.append(
                {"action": "notify", "to": "head_of_sales", "text": str(_("Service level breached"))}
            )
        if data.get("breach_queue"):
            on_breach.append({"action": "assign", "queue": data["breach_queue"]})
        if data.get("breach_task"):
            on_breach.append(
                {
                    "action": "task",
                    "title": data["breach_task"],
                    "due_in_minutes": 60,
                    "assignee": "responsible",
                }
            )
        return {
            "name": data["name"],
            "target": data["target"],
            "applies_to": applies,
            "minutes": data["minutes"],
            "working_time": bool(data.get("working_time")),
            "warn_at_percent": data.get("warn_at_percent") or 0,
            "on_warn": on_warn,
            "on_breach": on_breach,
        }

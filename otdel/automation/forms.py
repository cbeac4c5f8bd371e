"""Forms of the rule editor (conditions and actions as JSON the page's editor writes), SLA policies and
notification settings."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otdel.automation.models import SlaPolicy
from otdel.core.events import CATALOG
from otdel.crm.models import Channel, LeadSource, Stage, Task

ACTION_CHOICES = [
    ("task", _("Create a task")),
    ("notify", _("Send a notification")),
    ("assign", _("Hand over through a queue")),
    ("move_stage", _("Move to a stage")),
    ("send_email", _("Send an e-mail to the client")),
    ("generate_document", _("Make a document")),
    ("start_approval", _("Start an approval")),
    ("webhook", _("Call a webhook")),
]
TO_CHOICES = [("responsible", _("the responsible")), ("head_of_sales", _("the head of sales"))]
OPERATOR_CHOICES = [
    ("eq", _("equals")),
    ("ne", _("does not equal")),
    ("gt", _("greater than")),
    ("gte", _("at least")),
    ("lt", _("less than")),
    ("lte", _("at most")),
    ("in", _("is one of (comma-separated)")),
    ("not_in", _("is none of (comma-separated)")),
    ("contains", _("contains")),
    ("empty", _("is empty")),
    ("not_empty", _("is not empty")),
]
FIELD_LABELS = {
    "amount": _("amount"),
    "title": _("title"),
    "stage": _("stage"),
    "pipeline": _("pipeline"),
    "responsible": _("responsible"),
    "company": _("company"),
    "contact": _("contact"),
    "source": _("source"),
    "channel": _("channel"),
    "status": _("status"),
    "verdict": _("verdict"),
    "comment": _("comment"),
    "utm_source": "utm_source",
}


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


class RuleForm(_Styled, forms.Form):
    """A rule: trigger, conditions with AND/OR groups and a list of actions. ``conditions`` and
    ``actions`` are JSON, written by the editor on the page (``automation/rule_editor.js``) or by hand."""

    name = forms.CharField(label=_("Name"), max_length=200)
    event = forms.ChoiceField(label=_("When"), choices=())
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False)
    delay_minutes = forms.IntegerField(label=_("Delay, minutes"), min_value=0, initial=0)
    working_time = forms.BooleanField(label=_("Count working time only"), required=False)
    conditions = forms.CharField(
        label=_("Conditions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "data-editor": "conditions"}),
        help_text=_(
            'JSON: [{"field": "amount", "op": "gte", "value": "100000"}]; {"any": [...]} for OR, '
            '{"all": [...]} for AND.'
        ),
    )
    actions = forms.CharField(
        label=_("Actions"),
        widget=forms.Textarea(attrs={"rows": 2, "data-editor": "actions"}),
        help_text=_('JSON: [{"action": "task", "title": "Call the client", "due_in_minutes": 60}].'),
    )

    def __init__(self, *args: Any, pipeline: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [(name, name) for name in sorted(CATALOG)]  # type: ignore[attr-defined]
        stages = (
            Stage.objects.filter(pipeline=pipeline) if pipeline else Stage.objects.select_related("pipeline")
        )
        self.fields["stage"].queryset = stages  # type: ignore[attr-defined]
        self.pipeline = pipeline
        self.style()

    def _json_list(self, name: str) -> list[Any]:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return []
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON.")) from exc
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise forms.ValidationError(_("A list of objects."))
        return value

    def clean_conditions(self) -> list[Any]:
        return self._json_list("conditions")

    def clean_actions(self) -> list[Any]:
        actions = self._json_list("actions")
        if not actions:
            raise forms.ValidationError(_("Add at least one action."))
        return actions

    def rule_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        trigger: dict[str, Any] = {"event": data["event"]}
        if data.get("stage"):
            trigger["stage"] = data["stage"].pk
        return {
            "name": data["name"],
            "trigger": trigger,
            "conditions": data.get("conditions") or [],
            "delay_minutes": data.get("delay_minutes") or 0,
            "working_time": bool(data.get("working_time")),
            "actions": data["actions"],
        }

    @classmethod
    def initial_for(cls, rule: Any) -> dict[str, Any]:
        return {
            "name": rule.name,
            "event": rule.event,
            "stage": rule.stage_id,
            "delay_minutes": rule.delay_minutes,
            "working_time": rule.working_time,
            "conditions": json.dumps(rule.conditions, ensure_ascii=False),
            "actions": json.dumps(rule.actions, ensure_ascii=False),
        }


def editor_options(pipeline: Any = None) -> dict[str, Any]:
    """What the rule editor offers in its pickers (rendered with ``json_script``)."""
    from otdel.accounts.models import User
    from otdel.automation.actions import VARIABLES
    from otdel.automation.rules import FIELDS
    from otdel.documents.models import DocumentTemplate
    from otdel.privacy.models import ConsentPurpose

    stages = Stage.objects.select_related("pipeline").order_by("pipeline__order", "pipeline__name", "order")
    if pipeline is not None:
        stages = stages.filter(pipeline=pipeline)

    def label(code: str) -> str:
        return str(FIELD_LABELS.get(code, code))

    return {
        "fields": {kind: [[f, label(f)] for f in sorted(names)] for kind, names in FIELDS.items()},
        "ops": [[c, str(lbl)] for c, lbl in OPERATOR_CHOICES],
        "actions": [[c, str(lbl)] for c, lbl in ACTION_CHOICES],
        "to": [[c, str(lbl)] for c, lbl in TO_CHOICES],
        "stages": [[s.pk, f"{s.pipeline.name} — {s.name}"] for s in stages],
        "queues": [[code, name] for code, name in _queues() if code],
        "users": [
            [u.pk, u.get_full_name()]
            for u in User.objects.filter(is_active=True).order_by("full_name", "username")
        ],
        "templates": [
            [t.pk, t.name] for t in DocumentTemplate.objects.filter(is_active=True).order_by("name")
        ],
        "purposes": [
            [p.code, p.title] for p in ConsentPurpose.objects.filter(is_active=True).order_by("code")
        ],
        "variables": list(VARIABLES),
        "labels": {
            "all": str(_("all of these hold (AND)")),
            "any": str(_("any of these holds (OR)")),
            "add_condition": str(_("+ condition")),
            "add_group": str(_("+ group")),
            "add_action": str(_("+ action")),
            "remove": str(_("Remove")),
            "field": str(_("Field")),
            "op": str(_("Operator")),
            "value": str(_("Value")),
            "no_conditions": str(_("No conditions: the rule runs on every event.")),
            "title": str(_("Task title")),
            "due_in_minutes": str(_("Due in, minutes")),
            "assignee": str(_("Assignee")),
            "responsible": str(_("the responsible")),
            "to": str(_("Notify")),
            "text": str(_("Text")),
            "queue": str(_("Queue")),
            "stage": str(_("Stage")),
            "subject": str(_("Subject")),
            "body": str(_("Message")),
            "purpose": str(_("Needs the consent")),
            "no_purpose": str(_("none (not marketing)")),
            "variables": str(_("Variables")),
            "template": str(_("Template")),
            "format": str(_("Format")),
            "route": str(_("Approval route (id)")),
            "url": str(_("URL")),
            "secret": str(_("Secret")),
            "choose": str(_("— choose —")),
        },
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
    task_kind = forms.ChoiceField(
        label=_("Kind of task (task done)"),
        choices=[("", _("any")), *list(Task.Kind.choices)],
        required=False,
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
        if data.get("task_kind"):
            applies["kind"] = data["task_kind"]
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


class NotificationSettingsForm(forms.Form):
    """Checkboxes named ``<kind>:<channel>`` and the reminder lead time."""

    remind_before_minutes = forms.IntegerField(
        label=_("Remind before a task is due, minutes (0: never)"), min_value=0, max_value=7 * 24 * 60
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from otdel.automation.models import Notification, NotificationSettings

        super().__init__(*args, **kwargs)
        for kind in Notification.Kind.values:
            for channel in NotificationSettings.Channel.values:
                self.fields[f"{kind}:{channel}"] = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channels: dict[str, list[str]] = {}
        for name in list(data):
            if ":" in name:
                kind, channel = name.split(":", 1)
                if data.pop(name):
                    channels.setdefault(kind, []).append(channel)
        data["channels"] = channels
        return data

"""Forms of the routing pages: non-target marks, blocked numbers, settings, queues, the log, what-if."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from otdel.accounts.models import User
from otdel.core.identity import IdentityKind, normalize_identity
from otdel.crm.models import Channel, NonTargetReason
from otdel.routing.models import Queue, RoutingDecision, RoutingSettings
from otdel.web.forms import StyledForm


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).exclude(role="integration").order_by("full_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    """People by name and role; a deactivated one is labelled so (the service refuses them)."""

    def label_from_instance(self, obj: User) -> str:
        label = f"{obj.get_full_name()} · {obj.get_role_display()}"
        return label if obj.is_active else f"{label} ({_('deactivated')})"


class QueueChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Queue) -> str:
        label = f"{obj.name} ({obj.code})"
        return label if obj.is_active else f"{label} · {_('inactive')}"


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name()} · {obj.get_role_display()}"


# --- non-target ------------------------------------------------------------------------------


class NonTargetForm(StyledForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=NonTargetReason.choices)


class BlockIdentityForm(StyledForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k, label) for k, label in IdentityKind.choices if k != IdentityKind.WEB],
        initial=IdentityKind.PHONE,
    )
    value = forms.CharField(label=_("Phone, e-mail or chat id"), max_length=255)
    reason = forms.ChoiceField(
        label=_("Reason"), choices=NonTargetReason.choices, initial=NonTargetReason.SPAM
    )
    comment = forms.CharField(label=_("Comment"), max_length=255, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") and data.get("value"):
            try:
                normalize_identity(data["kind"], data["value"])
            except ValidationError as exc:
                self.add_error("value", exc.messages)
        return data


# --- settings --------------------------------------------------------------------------------


class RoutingSettingsForm(StyledForm):
    """Every user and queue is offered, so that the service (not the form) says why one is refused."""

    non_target_user = UserChoiceField(
        label=_("Non-target traffic goes to a person"), queryset=User.objects.none(), required=False
    )
    non_target_queue = QueueChoiceField(
        label=_("…or to a queue"), queryset=Queue.objects.none(), required=False
    )
    default_queue = QueueChoiceField(
        label=_("Default queue"),
        queryset=Queue.objects.none(),
        required=False,
        help_text=_("Takes new clients when a line, form or mailbox has no queue of its own."),
    )
    fallback_user = UserChoiceField(
        label=_("Fallback person"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Gets whatever no rule could place. Empty: the first office manager."),
    )
    repeat_rule = forms.ChoiceField(
        label=_("Repeat inquiry from a known client"), choices=RoutingSettings.RepeatRule.choices
    )
    callback_minutes = forms.IntegerField(
        label=_("Call back a missed call within, minutes"), min_value=1, max_value=7 * 24 * 60
    )

    def __init__(self, *args: Any, current: RoutingSettings, **kwargs: Any) -> None:
        self.current = current
        kwargs.setdefault(
            "initial",
            {
                "non_target_user": current.non_target_user_id,
                "non_target_queue": current.non_target_queue_id,
                "default_queue": current.default_queue_id,
                "fallback_user": current.fallback_user_id,
                "repeat_rule": current.repeat_rule,
                "callback_minutes": current.callback_minutes,
            },
        )
        super().__init__(*args, **kwargs)
        users = User.objects.exclude(role="integration").order_by("-is_active", "full_name", "username")
        queues = Queue.objects.order_by("name")
        for name in ("non_target_user", "fallback_user"):
            self.fields[name].queryset = users  # type: ignore[attr-defined]
        for name in ("non_target_queue", "default_queue"):
            self.fields[name].queryset = queues  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, queue = data.get("non_target_user"), data.get("non_target_queue")
        if user is not None and queue is not None:
            self.add_error("non_target_queue", _("Choose a person or a queue, not both."))
        elif (
            user is None
            and queue is None
            and (self.current.non_target_user_id or self.current.non_target_queue_id)
        ):
            self.add_error("non_target_user", _("Choose who gets non-target traffic: a person or a queue."))
        if data.get("fallback_user") is None and self.current.fallback_user_id:
            self.add_error("fallback_user", _("Choose the fallback person (it can be changed, not removed)."))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields: dict[str, Any] = {
            "default_queue": data["default_queue"].code if data["default_queue"] else "",
            "repeat_rule": data["repeat_rule"],
            "callback_minutes": data["callback_minutes"],
        }
        if data["non_target_user"] is not None:
            fields["non_target_destination"] = {"user": data["non_target_user"].pk}
        elif data["non_target_queue"] is not None:
            fields["non_target_destination"] = {"queue": data["non_target_queue"].code}
        if data["fallback_user"] is not None:
            fields["fallback_user"] = data["fallback_user"].pk
        return fields

    def add_service_error(self, exc: Any) -> None:
        # The service names one field for the whole destination; show it where it was chosen.
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            errors = dict(exc.error_dict)
            if "non_target_destination" in errors:
                messages = errors.pop("non_target_destination")
                chosen = (
                    "non_target_queue" if self.cleaned_data.get("non_target_queue") else "non_target_user"
                )
                errors[chosen] = messages
            exc = ValidationError(errors)
        super().add_service_error(exc)


# --- queues ----------------------------------------------------------------------------------


OFF_HOURS_CHOICES: list[Any] = list(Queue._meta.get_field("off_hours").choices or [])


class QueueForm(StyledForm):
    SERVICE_FIELDS = ("name", "strategy", "off_hours", "duty_user", "voicemail", "is_active", "members")

    code = forms.SlugField(
        label=_("Code"),
        max_length=64,
        help_text=_("Latin letters, digits, - and _. PBXs and scripts refer to the queue by it."),
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    strategy = forms.ChoiceField(label=_("Distribution"), choices=Queue.Strategy.choices)
    off_hours = forms.ChoiceField(label=_("When nobody in the queue works"), choices=OFF_HOURS_CHOICES)
    duty_user = UserChoiceField(label=_("Duty person"), queryset=User.objects.none(), required=False)
    voicemail = forms.CharField(
        label=_("Voicemail destination"),
        max_length=64,
        required=False,
        help_text=_("The PBX voicemail box or extension for calls out of hours."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    members = MemberChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, queue: Queue | None = None, **kwargs: Any) -> None:
        self.queue = queue
        if queue is not None:
            kwargs.setdefault(
                "initial",
                {
                    "code": queue.code,
                    "name": queue.name,
                    "strategy": queue.strategy,
                    "off_hours": queue.off_hours,
                    "duty_user": queue.duty_user_id,
                    "voicemail": queue.voicemail,
                    "is_active": queue.is_active,
                    "members": list(queue.memberships.values_list("user_id", flat=True)),
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["duty_user"].queryset = active_users()  # type: ignore[attr-defined]
        self.fields["members"].queryset = active_users()  # type: ignore[attr-defined]
        if queue is not None:
            # The code is what PBX dialplans and scripts know the queue by: set once.
            self.fields["code"].disabled = True
            self.fields["code"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("off_hours") == "duty" and not data.get("duty_user"):
            self.add_error("duty_user", _("Choose the duty person who takes traffic out of hours."))
        if data.get("off_hours") == "voicemail" and not (data.get("voicemail") or "").strip():
            self.add_error("voicemail", _("Give the voicemail destination for calls out of hours."))
        return data

    def service_fields(self) -> dict[str, Any]:
        fields = {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}
        fields["members"] = list(fields["members"])
        fields["voicemail"] = (fields["voicemail"] or "").strip()
        return fields


# --- log and what-if -------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DecisionFilterForm(StyledForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", "—"), *Channel.choices], required=False)
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *RoutingDecision.Reason.choices], required=False
    )
    user = UserChoiceField(label=_("Went to"), queryset=User.objects.none(), required=False)
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=DateInput())
    contact = forms.IntegerField(label=_("Contact"), required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = User.objects.exclude(role="integration").order_by("full_name", "username")
        self.fields["user"].queryset = users  # type: ignore[attr-defined]


class WhatIfForm(StyledForm):
    identity = forms.CharField(
        label=_("Phone or e-mail"),
        max_length=255,
        help_text=_("In any format: 8 (912) 345-67-89, +7 912 345 67 89, Name@Example.ru"),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.CALL)
    queue = QueueChoiceField(
        label=_("Line, form or mailbox queue"),
        queryset=Queue.objects.none(),
        required=False,
        empty_label=_("Default queue"),
    )
    at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M"],
        help_text=_("Empty: now."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.order_by("name")  # type: ignore[attr-defined]

"""Forms of the comms pages (reply box, tasks, channel settings); services, not forms, write the data."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import Field, Model, QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import User
from otdel.comms.email.services import MAILBOX_FIELDS, MAILBOX_SECRETS
from otdel.comms.models import IntakeLog, Mailbox, TelegramBot, TelephonyLine, TelephonyProvider, WebForm
from otdel.comms.telephony.services import PROVIDER_FIELDS, PROVIDER_SECRETS
from otdel.crm.forms import VersionField
from otdel.crm.models import Task
from otdel.privacy.models import ConsentPurpose
from otdel.routing.models import Queue
from otdel.web.forms import StyledForm

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
KEEP_SECRET = _("Stored and never shown. Leave empty to keep the current value.")


def _model_field(model: type[Model], name: str, **kwargs: Any) -> forms.Field:
    """The form field the model itself would make: its label, validators and choices."""
    model_field = model._meta.get_field(name)
    assert isinstance(model_field, Field)
    field = model_field.formfield(**kwargs)
    assert field is not None
    return field


def _secret(model: type[Model], name: str) -> forms.CharField:
    """A write-only secret: the page never sends it back to the browser."""
    model_field = model._meta.get_field(name)
    return forms.CharField(
        label=capfirst(getattr(model_field, "verbose_name", name)),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


def _queue_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Queue"),
        queryset=Queue.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=_("— default routing —"),
    )


class SettingsForm(StyledForm):
    """An edit form of a settings record: initial values from ``instance``, secrets never shown."""

    SERVICE_FIELDS: tuple[str, ...] = ()
    SECRETS: tuple[str, ...] = ()

    def __init__(self, *args: Any, instance: Model | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            initial = {
                name: getattr(instance, name)
                for name in self.SERVICE_FIELDS
                if name not in self.SECRETS and hasattr(instance, name)
            }
            initial["version"] = getattr(instance, "version", None)
            kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        if instance is None:
            self.fields.pop("version", None)
        for name in self.SECRETS:
            if instance is not None and name in self.fields:
                self.fields[name].help_text = KEEP_SECRET
        self.style()

    def service_fields(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS if name in self.cleaned_data}
        for name in self.SECRETS:
            if self.instance is not None and not data.get(name):
                data.pop(name, None)  # blank keeps the stored secret
        return data

    def read_version(self) -> int | None:
        """The version the form was read at (optimistic locking)."""
        return self.cleaned_data.get("version")


# --- the reply box on a card ---------------------------------------------------------------------


class EmailReplyForm(StyledForm):
    reply_to = forms.TypedChoiceField(label=_("Reply to"), coerce=int, empty_value=None, required=False)
    subject = forms.CharField(
        label=_("Subject"),
        max_length=500,
        required=False,
        help_text=_("Empty when replying: “Re:” and the subject of the thread."),
    )
    body = forms.CharField(
        label=_("Message"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write the message.")},
    )

    def __init__(self, *args: Any, threads: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reply_to = self.fields["reply_to"]
        assert isinstance(reply_to, forms.ChoiceField)
        reply_to.choices = [("", _("New e-mail")), *(threads or [])]
        self.style()


class TelegramReplyForm(StyledForm):
    text = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write the message.")},
    )


class NoteReplyForm(StyledForm):
    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a note…")}),
        error_messages={"required": _("Write the note first.")},
    )


class TaskForm(StyledForm):
    title = forms.CharField(label=_("What to do"), max_length=255)
    kind = forms.ChoiceField(label=_("Kind"), choices=Task.Kind.choices, initial=Task.Kind.TODO)
    due_at = forms.DateTimeField(
        label=_("Due"),
        required=False,
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label=_("— me —")
    )

    def __init__(self, *args: Any, assignees: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = assignees if assignees is not None else User.objects.none()
        self.style()


# --- channel settings (administrators) -----------------------------------------------------------


class TelephonyProviderForm(SettingsForm):
    SERVICE_FIELDS = tuple(sorted(PROVIDER_FIELDS))
    SECRETS = tuple(sorted(PROVIDER_SECRETS))

    kind = _model_field(TelephonyProvider, "kind")
    name = _model_field(TelephonyProvider, "name")
    key = _model_field(TelephonyProvider, "key")
    is_active = _model_field(TelephonyProvider, "is_active")
    live_routing = _model_field(TelephonyProvider, "live_routing")
    api_key = _model_field(TelephonyProvider, "api_key")
    api_secret = _secret(TelephonyProvider, "api_secret")
    api_url = _model_field(TelephonyProvider, "api_url", help_text=_("Empty: the provider's public API."))
    ami_host = _model_field(TelephonyProvider, "ami_host")
    ami_port = _model_field(TelephonyProvider, "ami_port")
    ami_username = _model_field(TelephonyProvider, "ami_username")
    ami_password = _secret(TelephonyProvider, "ami_password")
    originate_context = _model_field(TelephonyProvider, "originate_context")
    queue = _queue_field()
    version = VersionField()


class TelephonyLineForm(SettingsForm):
    SERVICE_FIELDS = ("number", "name", "queue")

    number = forms.CharField(
        label=_("Number"), max_length=32, help_text=_("In any format, e.g. 8 495 123-45-67.")
    )
    name = _model_field(TelephonyLine, "name")
    queue = _queue_field()


class MailboxForm(SettingsForm):
    SERVICE_FIELDS = tuple(sorted(MAILBOX_FIELDS))
    SECRETS = tuple(sorted(MAILBOX_SECRETS))

    address = _model_field(Mailbox, "address")
    imap_host = _model_field(Mailbox, "imap_host")
    imap_port = _model_field(Mailbox, "imap_port")
    imap_ssl = _model_field(Mailbox, "imap_ssl")
    username = _model_field(Mailbox, "username")
    password = _secret(Mailbox, "password")
    smtp_host = _model_field(Mailbox, "smtp_host", help_text=_("Empty: this mailbox only receives."))
    smtp_port = _model_field(Mailbox, "smtp_port")
    smtp_ssl = _model_field(Mailbox, "smtp_ssl")
    smtp_starttls = _model_field(Mailbox, "smtp_starttls")
    inbox_folder = _model_field(Mailbox, "inbox_folder")
    sent_folder = _model_field(Mailbox, "sent_folder")
    queue = _queue_field()
    is_active = _model_field(Mailbox, "is_active")
    version = VersionField()


class TelegramBotForm(SettingsForm):
    """Registering a bot asks for its URL key once; editing never changes it (it is in the webhook URL)."""

    SERVICE_FIELDS = ("name", "key", "token", "api_base_url", "queue", "is_active")
    SECRETS = ("token",)

    name = _model_field(TelegramBot, "name")
    key = _model_field(TelegramBot, "key", help_text=_("Part of the webhook URL, e.g. sales."))
    token = forms.CharField(
        label=_("Bot token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("From @BotFather, like 123456789:AAH…"),
    )
    api_base_url = _model_field(TelegramBot, "api_base_url")
    queue = _queue_field()
    is_active = _model_field(TelegramBot, "is_active")
    version = VersionField()

    def __init__(self, *args: Any, instance: TelegramBot | None = None, **kwargs: Any) -> None:
        super().__init__(*args, instance=instance, **kwargs)
        if instance is None:
            self.fields["token"].required = True
            del self.fields["is_active"]
        else:
            del self.fields["key"]
        self.style()


class WebFormForm(SettingsForm):
    SERVICE_FIELDS = (
        "slug",
        "name",
        "title",
        "queue",
        "consent_purposes",
        "success_message",
        "allowed_origins",
        "rate_limit_per_minute",
        "is_active",
    )

    slug = _model_field(WebForm, "slug", help_text=_("The form's address: /f/<slug>."))
    name = _model_field(WebForm, "name")
    title = _model_field(WebForm, "title")
    queue = _queue_field()
    consent_purposes = forms.ModelMultipleChoiceField(
        label=_("Required consents"),
        queryset=ConsentPurpose.objects.filter(is_active=True).order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_origins = _model_field(WebForm, "allowed_origins", widget=forms.Textarea(attrs={"rows": 3}))
    success_message = _model_field(WebForm, "success_message")
    rate_limit_per_minute = _model_field(WebForm, "rate_limit_per_minute")
    is_active = _model_field(WebForm, "is_active")
    # Not "fields": that name is the form's own dict of fields.
    extra_fields = forms.CharField(
        label=_("Extra fields (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}),
        help_text=_(
            'Beyond name, phone, e-mail and message, e.g. [{"name": "city", "label": "City", '
            '"type": "text", "required": false}]'
        ),
    )
    version = VersionField()

    def __init__(self, *args: Any, instance: WebForm | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs["initial"] = {
                "consent_purposes": list(instance.consent_purposes.all()),
                "extra_fields": json.dumps(instance.fields, ensure_ascii=False, indent=1)
                if instance.fields
                else "",
                **kwargs.get("initial", {}),
            }
        super().__init__(*args, instance=instance, **kwargs)
        # The purposes and their texts are edited on the privacy pages.
        self.fields["consent_purposes"].help_text = format_html(
            '<a href="{}" data-testid="edit-consent-purposes">{}</a>',
            reverse("privacy_purposes"),
            _("Edit consent purposes and their texts"),
        )

    def clean_extra_fields(self) -> list[Any]:
        text = (self.cleaned_data.get("extra_fields") or "").strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON: %(error)s"), params={"error": exc}
            ) from exc
        return value

    def service_fields(self) -> dict[str, Any]:
        data = super().service_fields()
        data["consent_purposes"] = list(data.get("consent_purposes") or [])
        data["fields"] = self.cleaned_data.get("extra_fields") or []
        return data

    def add_service_error(self, exc: Any) -> None:
        # The service names the JSON field "fields"; on this form it is "extra_fields".
        if hasattr(exc, "error_dict") and "fields" in exc.error_dict:
            exc.error_dict["extra_fields"] = exc.error_dict.pop("fields")
        super().add_service_error(exc)


class IntakeFilterForm(StyledForm):
    provider = forms.ChoiceField(label=_("Source"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *IntakeLog.Status.choices]
    )

    def __init__(self, *args: Any, providers: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider = self.fields["provider"]
        assert isinstance(provider, forms.ChoiceField)
        provider.choices = [("", _("Any")), *((p, p) for p in providers or [])]
        self.style()

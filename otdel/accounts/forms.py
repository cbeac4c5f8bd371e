"""Forms of the account pages: they check input; the services in accounts.services write it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import Field, Q, QuerySet
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import Department, Role, TokenScope, User
from otdel.core.identity import format_phone, normalize_phone
from otdel.web.forms import StyledForm, StyledFormMixin

# Each language in its own name, so a user who picked the wrong one can still find theirs.
LANGUAGE_CHOICES = [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]
WEEKDAY_CHOICES = list(WEEKDAYS_ABBR.items())


def _model_field(name: str, **kwargs: Any) -> forms.Field:
    """The form field the User model itself would make: its label, validators and choices."""
    model_field = User._meta.get_field(name)
    assert isinstance(model_field, Field)
    field = model_field.formfield(**kwargs)
    assert field is not None
    return field


class LoginForm(StyledFormMixin, AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()


class LanguageForm(StyledForm):
    language = forms.ChoiceField(label=_("Interface language"), choices=LANGUAGE_CHOICES)


class PasswordForm(StyledFormMixin, PasswordChangeForm):
    """Checks the old password and the new one; the view hands the new one to ``user_update``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
        self.style()


class UserFilterForm(StyledForm):
    ACTIVE_CHOICES = [("", _("Active and inactive")), ("yes", _("Active")), ("no", _("Inactive"))]

    q = forms.CharField(label=_("Search"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices])
    department = forms.ModelChoiceField(
        label=_("Department"),
        required=False,
        queryset=Department.objects.all(),
        empty_label=_("All departments"),
    )
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES)

    def filter(self, queryset: QuerySet[User]) -> QuerySet[User]:
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["q"]:
            text = data["q"].strip()
            queryset = queryset.filter(
                Q(username__icontains=text)
                | Q(full_name__icontains=text)
                | Q(email__icontains=text)
                | Q(extension__startswith=text)
            )
        if data["role"]:
            queryset = queryset.filter(role=data["role"])
        if data["department"]:
            queryset = queryset.filter(department=data["department"])
        if data["active"]:
            queryset = queryset.filter(is_active=data["active"] == "yes")
        return queryset


class UserForm(StyledForm):
    """Create and edit a user; ``service_fields()`` is what ``user_create``/``user_update`` take."""

    SERVICE_FIELDS = (
        "full_name",
        "email",
        "role",
        "department",
        "extension",
        "phone",
        "work_days",
        "work_start",
        "work_end",
        "language",
        "is_active",
    )

    username = forms.CharField(label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()])
    full_name = _model_field("full_name", required=True)
    email = _model_field("email")
    role = _model_field("role")
    department = _model_field("department")
    extension = _model_field("extension", help_text=_("2 to 8 digits; calls to this number ring this user."))
    phone = _model_field("phone", help_text=_("Used when a call is forwarded outside working hours."))
    work_days = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    work_start = forms.TimeField(
        label=_("Work starts"), widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    work_end = forms.TimeField(
        label=_("Work ends"), widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    language = forms.ChoiceField(label=_("Interface language"), choices=LANGUAGE_CHOICES)
    is_active = forms.BooleanField(
        label=_("Active (may sign in and receive calls and leads)"), required=False, initial=True
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(
        self, *args: Any, instance: User | None = None, actor: User | None = None, **kwargs: Any
    ) -> None:
        self.instance = instance
        self.actor = actor
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.SERVICE_FIELDS}
            initial["username"] = instance.username
            initial["phone"] = format_phone(instance.phone) if instance.phone else ""
        else:
            # A new user starts with the model's defaults: Monday to Friday, 9 to 18.
            defaults = User()
            initial = {name: getattr(defaults, name) for name in ("work_days", "work_start", "work_end")}
            initial["language"] = settings.LANGUAGE_CODE
        kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        if instance is not None:
            # Usernames are logins other systems may know; they are set once, on creation.
            self.fields["username"].disabled = True
            self.fields["username"].required = False
            self.fields["password"].required = False
            self.fields["password"].help_text = _("Leave empty to keep the current password.")
        self.style()

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone") or ""
        return normalize_phone(value) if value.strip() else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("work_start"), data.get("work_end")
        if start and end and end <= start:
            self.add_error("work_end", _("Work must end after it starts."))
        if self.instance is not None and self.actor is not None and self.instance.pk == self.actor.pk:
            # An administrator must not lock themselves out of these very pages.
            if not data.get("is_active", True):
                self.add_error("is_active", _("You cannot deactivate your own account."))
            if data.get("role") and data["role"] != Role.ADMIN and not self.actor.is_superuser:
                self.add_error("role", _("You cannot take the administrator role away from yourself."))
        return data

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}


class DepartmentForm(StyledForm):
    name = forms.CharField(label=_("Department name"), max_length=120)
    head = forms.ModelChoiceField(
        label=_("Head"),
        required=False,
        queryset=User.objects.filter(is_active=True).order_by("full_name", "username"),
    )

    def __init__(self, *args: Any, instance: Department | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs["initial"] = {"name": instance.name, "head": instance.head, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)


class IntegrationTokenForm(StyledForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("What will use it: “Asterisk in the office”, “Website backend”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("May reach"), choices=TokenScope.choices, widget=forms.CheckboxSelectMultiple
    )
    user = forms.ModelChoiceField(
        label=_("Acts as"),
        required=False,
        empty_label=_("A technical account of its own (recommended for a PBX)"),
        queryset=User.objects.filter(is_active=True).order_by("full_name", "username"),
        help_text=_("The token has this user's rights, only on what its scopes allow."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Empty: until revoked."),
    )


class OtpCodeForm(StyledForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text=_("Six digits from the authenticator app, or one of your recovery codes."),
    )

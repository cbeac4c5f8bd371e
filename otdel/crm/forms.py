"""Forms of the CRM pages: they check input, the services (not the forms) write it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import SALES_ROLES, User
from otdel.core.exceptions import ConflictError
from otdel.core.identity import IdentityKind, format_phone, normalize_email, normalize_phone
from otdel.crm.models import (
    Channel,
    Company,
    Contact,
    Deal,
    LeadSource,
    LostReason,
    NonTargetReason,
    Pipeline,
    Stage,
    Verdict,
)
from otdel.web.forms import StyledForm, StyledFormMixin

# --- widgets and styling ---------------------------------------------------------------------


PICKER_PLACEHOLDERS = {
    "contact_pick": _("Type a name, phone or e-mail…"),
    "company_pick": _("Type a company name or INN…"),
}


class PickerWidget(forms.Widget):
    """A search box that fills a hidden id: picks one record out of thousands without a huge <select>.

    Results come from ``search_url`` (htmx GET with ``q``); the label of the current value is looked
    up in ``queryset`` (the user's scoped records), so an id typed into a URL reveals no name.
    """

    template_name = "crm/widgets/picker.html"

    def __init__(self, search_url_name: str, queryset: QuerySet[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.search_url_name = search_url_name
        self.queryset = queryset

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        label = ""
        if value not in (None, "") and self.queryset is not None:
            try:
                obj = self.queryset.filter(pk=int(str(value))).first()
            except (TypeError, ValueError):
                obj = None
            label = str(obj) if obj is not None else ""
        placeholder = self.attrs.get("placeholder") or PICKER_PLACEHOLDERS.get(self.search_url_name, "")
        context["widget"].update(
            {"search_url": reverse(self.search_url_name), "label": label, "placeholder": placeholder}
        )
        return context

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Model):
            return str(value.pk)
        return super().format_value(value)


def use_picker(field: forms.Field, search_url_name: str, queryset: QuerySet[Any]) -> None:
    """Turn ``field`` (a choice or number field holding an id) into a search picker over ``queryset``."""
    if isinstance(field, forms.ModelChoiceField):
        field.queryset = queryset
    field.widget = PickerWidget(search_url_name, queryset=queryset)


def style_form(form: forms.BaseForm) -> forms.BaseForm:
    """Bootstrap classes for a form that is not a StyledForm (the filter forms of django-filter)."""
    StyledFormMixin.style(form)  # type: ignore[arg-type]
    return form


def choices_from(field: forms.Field, queryset: QuerySet[Any]) -> forms.ModelChoiceField:
    """Point a model choice field at ``queryset`` (usually the user's scoped records)."""
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset
    return field


def sales_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=SALES_ROLES).order_by("full_name", "username")


class VersionField(forms.IntegerField):
    """The ``version`` the form was read at: the service refuses the save if it is stale."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]


def clean_phone_lines(text: str) -> list[str]:
    """Normalize one phone per line; each bad line becomes its own error naming the value."""
    values: list[str] = []
    errors: list[ValidationError] = []
    for line in (t.strip() for t in (text or "").splitlines()):
        if not line:
            continue
        try:
            value = normalize_phone(line)
        except ValidationError as exc:
            errors.append(exc)
            continue
        if value not in values:
            values.append(value)
    if errors:
        raise ValidationError(errors)
    return values


def clean_email_lines(text: str) -> list[str]:
    values: list[str] = []
    errors: list[ValidationError] = []
    for line in _lines(text):
        try:
            value = normalize_email(line)
        except ValidationError as exc:
            errors.append(exc)
            continue
        if value not in values:
            values.append(value)
    if errors:
        raise ValidationError(errors)
    return values


# --- deals -----------------------------------------------------------------------------------


class StageChoiceField(forms.ModelChoiceField):
    def __init__(self, *args: Any, with_pipeline: bool = False, **kwargs: Any) -> None:
        self.with_pipeline = with_pipeline
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Stage) -> str:
        return f"{obj.pipeline} · {obj.name}" if self.with_pipeline else obj.name


class DealForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=255)
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.none())
    stage = StageChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False)
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none(), required=False)
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none(), required=False)
    responsible = forms.ModelChoiceField(label=_("Responsible"), queryset=User.objects.none(), required=False)
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        min_value=Decimal("0"),
        max_digits=16,
        decimal_places=2,
        localize=True,
        error_messages={"min_value": _("The amount cannot be negative.")},
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="RUB")
    expected_close = forms.DateField(
        label=_("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"), queryset=LostReason.objects.filter(is_active=True), required=False
    )
    lost_comment = forms.CharField(
        label=_("Lost comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = VersionField()

    def __init__(
        self,
        *args: Any,
        pipelines: QuerySet[Pipeline],
        contacts: QuerySet[Contact],
        companies: QuerySet[Company],
        deal: Deal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.deal = deal
        choices_from(self.fields["responsible"], sales_users())
        use_picker(self.fields["contact"], "contact_pick", contacts)
        use_picker(self.fields["company"], "company_pick", companies)
        if deal is None:
            choices_from(self.fields["pipeline"], pipelines)
            stage_field = self.fields["stage"]
            assert isinstance(stage_field, StageChoiceField)
            stage_field.queryset = Stage.objects.filter(pipeline__in=pipelines).select_related("pipeline")
            stage_field.with_pipeline = True
            stage_field.help_text = _("Empty: the first stage of the pipeline.")
            del self.fields["version"]
            del self.fields["lost_comment"]  # deal_create takes the reason only
        else:
            del self.fields["pipeline"]
            choices_from(self.fields["stage"], deal.pipeline.stages.all())
            self.fields["stage"].required = True
            if deal.items.exists():  # type: ignore[attr-defined]
                # With line items the amount is their total (documents): shown, not editable.
                self.fields["amount"].disabled = True
                self.fields["amount"].help_text = _(
                    "The total of the line items. Change the items in the Documents block of the deal card."
                )
        self.style()

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "RUB").strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stage = data.get("stage")
        pipeline = data.get("pipeline") or (self.deal.pipeline if self.deal else None)
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("This stage belongs to another pipeline."))
        if stage is not None and stage.kind == Stage.Kind.LOST and not data.get("lost_reason"):
            self.add_error("lost_reason", _("Choose why the deal was lost."))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        if "amount" in self.fields and self.fields["amount"].disabled:
            data.pop("amount", None)
        elif data.get("amount") is None:
            data["amount"] = Decimal("0")
        if self.deal is None and data.get("stage") is None:
            data.pop("stage")
        return data


# --- contacts and companies ------------------------------------------------------------------


class ContactForm(StyledForm):
    full_name = forms.CharField(label=_("Full name"), max_length=255)
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none(), required=False)
    position = forms.CharField(label=_("Position"), max_length=150, required=False)
    responsible = forms.ModelChoiceField(label=_("Responsible"), queryset=User.objects.none(), required=False)
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line, in any format: 8 912 345-67-89, +7 (912) 345 67 89…"),
    )
    emails = forms.CharField(
        label=_("E-mails"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = VersionField()

    def __init__(
        self, *args: Any, companies: QuerySet[Company], contact: Contact | None = None, **kwargs: Any
    ):
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = contact_initial(contact)
        super().__init__(*args, **kwargs)
        self.contact = contact
        choices_from(self.fields["responsible"], sales_users())
        use_picker(self.fields["company"], "company_pick", companies)
        if contact is None:
            del self.fields["version"]
        self.style()

    def clean_phones(self) -> list[str]:
        return clean_phone_lines(self.cleaned_data.get("phones", ""))

    def clean_emails(self) -> list[str]:
        return clean_email_lines(self.cleaned_data.get("emails", ""))

    def identities(self) -> list[tuple[str, str]]:
        pairs = [(IdentityKind.PHONE.value, v) for v in self.cleaned_data["phones"]]
        pairs += [(IdentityKind.EMAIL.value, v) for v in self.cleaned_data["emails"]]
        if self.contact is not None:  # kinds the form does not show (messengers) are kept as they are
            pairs += [
                (i.kind, i.value)
                for i in self.contact.identities.all()
                if i.kind not in (IdentityKind.PHONE, IdentityKind.EMAIL)
            ]
        return pairs

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("phones", "emails", "version"):
            data.pop(name, None)
        return data

    def add_service_error(self, exc: ValidationError | ConflictError) -> None:
        # The services speak of "identities"; the form shows phones and e-mails apart.
        if isinstance(exc, ConflictError) and exc.field == "identities":
            field = "emails" if "@" in exc.message else "phones"
            self.add_error(field, exc.message)
            self.style()
            return
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict") and "identities" in exc.error_dict:
            exc.error_dict["phones"] = exc.error_dict.pop("identities")
        super().add_service_error(exc)


def contact_initial(contact: Contact) -> dict[str, Any]:
    identities = list(contact.identities.all())
    return {
        "full_name": contact.full_name,
        "company": contact.company_id,
        "position": contact.position,
        "responsible": contact.responsible_id,
        "comment": contact.comment,
        "phones": "\n".join(format_phone(i.value) for i in identities if i.kind == IdentityKind.PHONE),
        "emails": "\n".join(i.value for i in identities if i.kind == IdentityKind.EMAIL),
        "version": contact.version,
    }


class CompanyForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=255)
    inn = forms.RegexField(
        label=_("INN"),
        regex=r"^(\d{10}|\d{12})$",
        required=False,
        error_messages={"invalid": _("An INN is 10 or 12 digits.")},
    )
    website = forms.CharField(label=_("Website"), max_length=255, required=False)
    address = forms.CharField(label=_("Address"), max_length=500, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=120, required=False)
    responsible = forms.ModelChoiceField(label=_("Responsible"), queryset=User.objects.none(), required=False)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = VersionField()
    # Requisites for documents (otdel/documents): labels and lengths from the model fields.
    locals().update(
        {
            name: forms.CharField(
                label=Company._meta.get_field(name).verbose_name.capitalize(),  # type: ignore[union-attr]
                max_length=Company._meta.get_field(name).max_length,  # type: ignore[union-attr]
                required=False,
            )
            for name in Company.REQUISITES
        }
    )

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        if company is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{
                    name: getattr(company, name)
                    for name in ("name", "inn", "website", "address", "industry", *Company.REQUISITES)
                },
                "responsible": company.responsible_id,
                "comment": company.comment,
                "version": company.version,
            }
        super().__init__(*args, **kwargs)
        choices_from(self.fields["responsible"], sales_users())
        if company is None:
            del self.fields["version"]
        self.style()

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class NoteForm(StyledForm):
    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Write a note…")}),
        error_messages={"required": _("Write the note first.")},
    )


class MergeForm(StyledForm):
    target = forms.ModelChoiceField(
        label=_("Merge this contact into"),
        queryset=Contact.objects.none(),
        error_messages={"required": _("Choose the contact to keep.")},
    )

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_picker(self.fields["target"], "contact_pick", contacts)


# --- leads -----------------------------------------------------------------------------------


class TriageForm(StyledForm):
    verdict = forms.ChoiceField(label=_("Verdict"), choices=Verdict.choices)
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *NonTargetReason.choices], required=False
    )
    duplicate_of = forms.ModelChoiceField(
        label=_("Duplicate of"), queryset=Contact.objects.none(), required=False
    )

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_picker(self.fields["duplicate_of"], "contact_pick", contacts)
        self.fields["duplicate_of"].widget.attrs["placeholder"] = _("Duplicate of…")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        verdict = data.get("verdict")
        if verdict == Verdict.NON_TARGET and not data.get("reason"):
            self.add_error("reason", _("Choose why the lead is non-target."))
        if verdict == Verdict.DUPLICATE and not data.get("duplicate_of"):
            self.add_error("duplicate_of", _("Choose the contact this lead duplicates."))
        return data


class LeadCreateForm(StyledForm):
    contact = forms.ModelChoiceField(
        label=_("Existing contact"), queryset=Contact.objects.none(), required=False
    )
    full_name = forms.CharField(label=_("New contact: name"), max_length=255, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=255, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=LeadSource.choices, initial=LeadSource.MANUAL)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.MANUAL)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_picker(self.fields["contact"], "contact_pick", contacts)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "").strip()
        return normalize_phone(raw) if raw else ""

    def clean_email(self) -> str:
        raw = self.cleaned_data.get("email", "").strip()
        return normalize_email(raw) if raw else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("contact") and not (data.get("full_name") or "").strip():
            self.add_error("full_name", _("Pick an existing contact or enter the name of a new one."))
        return data

    def new_contact_identities(self) -> list[tuple[str, str]]:
        pairs = []
        if self.cleaned_data.get("phone"):
            pairs.append((IdentityKind.PHONE.value, self.cleaned_data["phone"]))
        if self.cleaned_data.get("email"):
            pairs.append((IdentityKind.EMAIL.value, self.cleaned_data["email"]))
        return pairs

    def add_service_error(self, exc: ValidationError | ConflictError) -> None:
        if isinstance(exc, ConflictError) and exc.field == "identities":
            self.add_error("email" if "@" in exc.message else "phone", exc.message)
            self.style()
            return
        super().add_service_error(exc)

"""Forms of the privacy pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from otdel.privacy.models import ConsentPurpose, LegalBasis, ProcessingUse, SubjectRequest
from otdel.privacy.register import CATEGORIES
from otdel.web.forms import StyledForm

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SubjectRequestForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=SubjectRequest.Kind.choices)
    contact = forms.IntegerField(label=_("Contact (number of the card)"), required=False, min_value=1)
    identity = forms.CharField(label=_("…or their phone or e-mail"), required=False, max_length=255)
    requester = forms.CharField(label=_("Who asked (as they signed)"), required=False, max_length=300)
    received_at = forms.DateTimeField(label=_("Received"), widget=DATETIME)
    details = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ExtendForm(StyledForm):
    reason = forms.CharField(label=_("Reason the person is told"), widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(StyledForm):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 3}))
    refused = forms.BooleanField(label=_("Refused (with reasons)"), required=False)


class DestroyForm(StyledForm):
    reason = forms.CharField(label=_("Reason for destruction (goes into the act)"), max_length=500)


class ManualConsentForm(StyledForm):
    purpose = forms.ModelChoiceField(
        label=_("Purpose"), queryset=ConsentPurpose.objects.filter(is_active=True)
    )
    given_at = forms.DateTimeField(label=_("Signed on"), widget=DATETIME)
    scan = forms.FileField(label=_("Scan of the signed consent"))


class BreachForm(StyledForm):
    title = forms.CharField(label=_("What happened"), max_length=300)
    found_at = forms.DateTimeField(label=_("Found at"), widget=DATETIME)
    description = forms.CharField(
        label=_("Description and supposed causes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    affected = forms.CharField(
        label=_("Whose data, which data, how many people"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    harm = forms.CharField(label=_("Supposed harm"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    measures = forms.CharField(
        label=_("Measures taken"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class BreachInvestigationForm(StyledForm):
    investigation = forms.CharField(
        label=_("Results of the internal investigation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    culprits = forms.CharField(
        label=_("Persons whose actions caused it"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConsentPurposeForm(StyledForm):
    """A consent purpose with its wording and what it covers (one page; saved by two services)."""

    code = forms.SlugField(
        label=_("Code"),
        max_length=64,
        help_text=_("Latin letters, digits and dashes; web forms and the API name the purpose by it."),
    )
    title = forms.CharField(label=_("Title"), max_length=255)
    text = forms.CharField(
        label=_("Text the person agrees to"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("A changed text becomes a new version; consents already given keep theirs."),
    )
    is_active = forms.BooleanField(label=_("Offered on forms and in the bot"), required=False, initial=True)
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=LegalBasis.choices)
    uses = forms.MultipleChoiceField(
        label=_("What stops when it is withdrawn"),
        choices=ProcessingUse.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    categories = forms.MultipleChoiceField(
        label=_("Categories of personal data"),
        choices=[(code, label) for code, label in CATEGORIES.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(
        label=_("What it covers, in words"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    retention_months = forms.IntegerField(
        label=_("Keep for, months after the consent"), required=False, min_value=1, max_value=1200
    )

    def __init__(self, *args: object, purpose: ConsentPurpose | None = None, **kwargs: object) -> None:
        if purpose is not None:
            rule = getattr(purpose, "rule", None)
            current = purpose.current_text
            kwargs["initial"] = {
                "code": purpose.code,
                "title": purpose.title,
                "text": current.text if current else "",
                "is_active": purpose.is_active,
                "legal_basis": rule.legal_basis if rule else LegalBasis.CONSENT,
                "uses": rule.uses if rule else [],
                "categories": rule.categories if rule else [],
                "description": rule.description if rule else "",
                "retention_months": rule.retention_months if rule else None,
            }
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if purpose is not None:
            # The code is how forms and consents name the purpose: fixed once made.
            self.fields["code"].disabled = True

"""Forms of the privacy pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from otdel.privacy.models import ConsentPurpose, SubjectRequest
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

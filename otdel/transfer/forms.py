"""Forms of the import pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from otdel.crm.models import Pipeline
from otdel.transfer.models import Dedupe, ImportKind
from otdel.web.forms import StyledForm


class UploadForm(StyledForm):
    file = forms.FileField(label=_("File (.csv or .xlsx)"))
    kind = forms.ChoiceField(
        label=_("What the file holds"), choices=ImportKind.choices, initial=ImportKind.AUTO
    )
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline for deals"), queryset=Pipeline.objects.filter(is_active=True), required=False
    )
    dedupe = forms.ChoiceField(
        label=_("When the phone or e-mail is already known"), choices=Dedupe.choices, initial=Dedupe.FILL
    )


class OptionsForm(StyledForm):
    dedupe = forms.ChoiceField(label=_("When the phone or e-mail is already known"), choices=Dedupe.choices)
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and skip rows with errors"), required=False
    )
    route_owners = forms.BooleanField(
        label=_("Assign owners by the routing rules where the file gives none"), required=False
    )

"""Filters for CRM lists, shared by the web list pages and the API (one way to filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import User
from otdel.core.identity import guess_identity
from otdel.crm.custom import custom_filter, custom_params, definitions
from otdel.crm.models import (
    Channel,
    Company,
    Contact,
    CustomField,
    Deal,
    Identity,
    Lead,
    LeadSource,
    Pipeline,
    Stage,
    Verdict,
)
from otdel.crm.search import filter_queryset


class CustomFilterMixin:
    """``?custom__<code>=`` (and ``__gte``/``__lte`` for numbers, money, dates) on a CRM list.

    The form gets one filter per active field (the list pages show them); the filtering itself is
    ``custom_filter``, one indexed comparison per field, and refuses an unknown code (API: 400).
    """

    entity: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = getattr(self, "request", None)
        # The API builds no form: it reads the definitions only when a custom filter is asked for.
        wanted = request is None or bool(custom_params(self.data or {}))  # type: ignore[attr-defined]
        self.custom_fields = definitions(self.entity, request=request) if wanted else []
        for field in self.custom_fields:
            for key, filt in _custom_filters(field).items():
                self.filters[key] = filt  # type: ignore[attr-defined]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)  # type: ignore[misc]
        params = custom_params(self.data)  # type: ignore[attr-defined]
        cleaned_data = getattr(self.form, "cleaned_data", {})  # type: ignore[attr-defined]
        for key in params:
            cleaned = cleaned_data.get(key)
            if cleaned is not None and cleaned != "":
                # The form's reading of the value: a picked user's id, a date typed 02.12.2026.
                params[key] = (
                    str(cleaned.pk)
                    if hasattr(cleaned, "pk")
                    else cleaned.isoformat()
                    if hasattr(cleaned, "isoformat")
                    else str(cleaned)
                )
        return custom_filter(queryset, params, getattr(self, "request", None))


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _applied_later(queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
    return queryset  # custom filters apply together, in CustomFilterMixin.filter_queryset


def _custom_filters(field: CustomField) -> dict[str, django_filters.Filter]:
    method = _applied_later
    key = f"custom__{field.code}"
    kind = field.type
    if kind in (CustomField.Type.LIST, CustomField.Type.MULTI_LIST):
        return {
            key: django_filters.ChoiceFilter(
                label=field.name, choices=[(o, o) for o in field.options], method=method, empty_label="—"
            )
        }
    if kind == CustomField.Type.CHECKBOX:
        return {
            key: django_filters.ChoiceFilter(
                label=field.name,
                choices=[("true", _("Yes")), ("false", _("No"))],
                method=method,
                empty_label="—",
            )
        }
    if kind == CustomField.Type.USER:
        return {
            key: django_filters.ModelChoiceFilter(
                label=field.name, queryset=User.objects.filter(is_active=True), method=method, empty_label="—"
            )
        }
    if kind == CustomField.Type.DATE:
        return {
            f"{key}__gte": django_filters.DateFilter(
                label=_("%(name)s from") % {"name": field.name}, method=method, widget=DATE_INPUT
            ),
            f"{key}__lte": django_filters.DateFilter(
                label=_("%(name)s to") % {"name": field.name}, method=method, widget=DATE_INPUT
            ),
        }
    if kind in (CustomField.Type.NUMBER, CustomField.Type.MONEY):
        return {
            f"{key}__gte": django_filters.NumberFilter(
                label=_("%(name)s from") % {"name": field.name}, method=method
            ),
            f"{key}__lte": django_filters.NumberFilter(
                label=_("%(name)s to") % {"name": field.name}, method=method
            ),
        }
    return {key: django_filters.CharFilter(label=field.name, method=method)}


def search_filter(queryset: QuerySet[Any], kind: str, value: str) -> QuerySet[Any]:
    """``?q=``: the one CRM search (otdel.crm.search), best matches first; blank = no filter."""
    return filter_queryset(queryset, kind, value) if value.strip() else queryset


class ContactFilterSet(CustomFilterMixin, django_filters.FilterSet):
    entity = "contact"
    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    identity = django_filters.CharFilter(label=_("Phone or e-mail"), method="filter_identity")
    company = django_filters.ModelChoiceFilter(queryset=Company.objects.all(), label=_("Company"))
    responsible = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Responsible"))
    non_target = django_filters.BooleanFilter(label=_("Non-target"))

    class Meta:
        model = Contact
        fields = ["q", "identity", "company", "responsible", "non_target"]

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return search_filter(queryset, "contacts", value)

    def filter_identity(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        guess = guess_identity(value)
        if guess is None:
            matches = Identity.objects.filter(value=value.strip().lower())
        else:
            matches = Identity.objects.filter(kind=guess[0], value=guess[1])
        return queryset.filter(pk__in=matches.values("contact_id"))


class CompanyFilterSet(CustomFilterMixin, django_filters.FilterSet):
    entity = "company"
    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    responsible = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Responsible"))
    industry = django_filters.CharFilter(label=_("Industry"), lookup_expr="icontains")

    class Meta:
        model = Company
        fields = ["q", "responsible", "industry"]

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return search_filter(queryset, "companies", value)


class LeadFilterSet(CustomFilterMixin, django_filters.FilterSet):
    entity = "lead"
    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("Contact"))
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, label=_("Source"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices, label=_("Status"))
    verdict = django_filters.ChoiceFilter(
        choices=[("none", _("Not triaged")), *Verdict.choices], label=_("Verdict"), method="filter_verdict"
    )
    responsible = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Responsible"))
    created_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created from")
    )
    created_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created to")
    )

    class Meta:
        model = Lead
        fields = ["q", "contact", "source", "channel", "status", "verdict", "responsible"]

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return search_filter(queryset, "leads", value)

    def filter_verdict(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(verdict="" if value == "none" else value)


class DealFilterSet(CustomFilterMixin, django_filters.FilterSet):
    entity = "deal"
    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    pipeline = django_filters.ModelChoiceFilter(queryset=Pipeline.objects.all(), label=_("Pipeline"))
    stage = django_filters.ModelChoiceFilter(queryset=Stage.objects.all(), label=_("Stage"))
    state = django_filters.ChoiceFilter(
        choices=Stage.Kind.choices, field_name="stage__kind", label=_("State")
    )
    responsible = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Responsible"))
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("Contact"))
    company = django_filters.NumberFilter(field_name="company_id", label=_("Company"))
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label=_("Amount from"))
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label=_("Amount to"))
    close_from = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="gte", label=_("Close from")
    )
    close_to = django_filters.DateFilter(field_name="expected_close", lookup_expr="lte", label=_("Close to"))

    class Meta:
        model = Deal
        fields = ["q", "pipeline", "stage", "state", "responsible", "contact", "company"]

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return search_filter(queryset, "deals", value)

"""Filters for CRM lists, shared by the web list pages and the API (one way to filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import User
from otdel.core.identity import guess_identity
from otdel.crm.models import (
    Channel,
    Company,
    Contact,
    Deal,
    Identity,
    Lead,
    LeadSource,
    Pipeline,
    Stage,
    Verdict,
)
from otdel.crm.search import filter_queryset


def search_filter(queryset: QuerySet[Any], kind: str, value: str) -> QuerySet[Any]:
    """``?q=``: the one CRM search (otdel.crm.search), best matches first; blank = no filter."""
    return filter_queryset(queryset, kind, value) if value.strip() else queryset


class ContactFilterSet(django_filters.FilterSet):
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


class CompanyFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    responsible = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Responsible"))
    industry = django_filters.CharFilter(label=_("Industry"), lookup_expr="icontains")

    class Meta:
        model = Company
        fields = ["q", "responsible", "industry"]

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return search_filter(queryset, "companies", value)


class LeadFilterSet(django_filters.FilterSet):
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


class DealFilterSet(django_filters.FilterSet):
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

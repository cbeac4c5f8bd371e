"""The filters of every report (the same for the pages and the API), and the monthly plan form."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from otdel.core.scoping import scope
from otdel.crm.models import Channel, LeadSource, Pipeline
from otdel.reports.selectors import ReportFilters, default_of, report_people
from otdel.web.forms import StyledForm

# Names of the drill-down's own parameters (which row or cell of a report), kept apart from filters.
DRILL_PARAMS = (
    "stage",
    "responsible",
    "user",
    "reason",
    "traffic_channel",
    "traffic_source",
    "verdict",
    "group",
    "policy",
    "state",
    "article",
)


class QuickSelect(forms.Select):
    """Django's ``<select>`` markup written here in Python instead of a template per option: the
    filter form's four selects (people, pipelines, sources, channels) were a third of a report
    page's own rendering time."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts: list[str] = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '  <option value="{}"{}>{}</option>\n',
                    option["value"],
                    flatatt(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # every piece above went through format_html


class _PersonChoice(forms.ModelChoiceField):
    widget = QuickSelect

    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name()


class ReportFilterForm(StyledForm):
    date_from = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, widget=QuickSelect
    )
    manager = _PersonChoice(label=_("Manager"), queryset=Pipeline.objects.none(), required=False)
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", "—"), *LeadSource.choices], required=False, widget=QuickSelect
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", "—"), *Channel.choices], required=False, widget=QuickSelect
    )
    utm_source = forms.CharField(label="utm_source", required=False, max_length=255)
    utm_medium = forms.CharField(label="utm_medium", required=False, max_length=255)
    utm_campaign = forms.CharField(label="utm_campaign", required=False, max_length=255)
    breakdown = forms.ChoiceField(
        label=_("Break down by"),
        required=False,
        widget=QuickSelect,
        choices=[
            ("", "—"),
            ("source", _("Source")),
            ("channel", _("Channel")),
            ("utm_source", "utm_source"),
            ("utm_medium", "utm_medium"),
            ("utm_campaign", "utm_campaign"),
        ],
    )
    stale_days = forms.IntegerField(label=_("Stale after, days"), required=False, min_value=1, max_value=3650)

    def __init__(self, data: Any, *, user: Any, fields: tuple[str, ...] | None = None, **kwargs: Any) -> None:
        if fields is not None:
            # Copy only the fields shown (the form deep-copies ``base_fields``), not all to drop some.
            self.base_fields = {n: f for n, f in type(self).base_fields.items() if n in fields}  # type: ignore[misc]
        super().__init__(data, **kwargs)
        self.user = user
        self._pipelines: list[Pipeline] | None = None
        if "pipeline" in self.fields:
            self.fields["pipeline"].queryset = self._pipeline_queryset()  # type: ignore[attr-defined]
        if "manager" in self.fields:
            self.fields["manager"].queryset = report_people(user)  # type: ignore[attr-defined]

    def _pipeline_queryset(self) -> Any:
        return scope(Pipeline.objects.filter(is_active=True), self.user)

    def pipelines(self) -> list[Pipeline]:
        """The active pipelines the user may see, read once: the default pipeline and the choices
        both come from this list (they were two queries on every report page)."""
        if self._pipelines is None:
            self._pipelines = list(self._pipeline_queryset())
            field = self.fields.get("pipeline")
            if isinstance(field, forms.ModelChoiceField):
                empty = [] if field.empty_label is None else [("", field.empty_label)]
                field.choices = [*empty, *((p.pk, str(p)) for p in self._pipelines)]
        return self._pipelines

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError({"date_to": _("The end of the period is before its start.")})
        return data

    def filters(self, *, default_period: bool = False, extra: dict[str, Any] | None = None) -> ReportFilters:
        data = self.cleaned_data
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if default_period and not date_from and not date_to:
            today = timezone.localdate(timezone.now(), timezone.get_default_timezone())
            date_from, date_to = today.replace(day=1), today
        return ReportFilters(
            date_from=date_from,
            date_to=date_to,
            pipeline=data.get("pipeline") or default_of(self.pipelines()),
            manager=data.get("manager"),
            source=data.get("source") or "",
            channel=data.get("channel") or "",
            utm_source=(data.get("utm_source") or "").strip(),
            utm_medium=(data.get("utm_medium") or "").strip(),
            utm_campaign=(data.get("utm_campaign") or "").strip(),
            stale_days=data.get("stale_days") or 14,
            breakdown=data.get("breakdown") or "",
            extra=extra or {},
        )


def drill_extra(params: Any) -> dict[str, str]:
    return {name: params[name] for name in DRILL_PARAMS if name in params}


def month_choices(today: datetime.date, back: int = 3, ahead: int = 9) -> list[datetime.date]:
    first = today.replace(day=1)
    months = []
    for shift in range(-back, ahead + 1):
        year, month = divmod(first.month - 1 + shift, 12)
        months.append(datetime.date(first.year + year, month + 1, 1))
    return months

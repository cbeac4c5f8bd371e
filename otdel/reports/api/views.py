"""Reports API (CONTRACTS.md "Reports", both parts): every report as JSON, CSV or XLSX."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.reports import selectors
from otdel.reports.export import export_response
from otdel.reports.forms import ReportFilterForm


class _FileRenderer(renderers.BaseRenderer):
    """Lets ``?format=csv|xlsx`` through content negotiation; the view answers the file itself."""

    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return data if isinstance(data, bytes) else b""


class CSVRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XLSXRenderer(_FileRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"


FILTER_PARAMS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day, department time zone"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day, inclusive"),
    OpenApiParameter("pipeline", OpenApiTypes.INT),
    OpenApiParameter("manager", OpenApiTypes.INT, description="A salesperson's user id"),
    OpenApiParameter("source", OpenApiTypes.STR),
    OpenApiParameter("channel", OpenApiTypes.STR),
    OpenApiParameter("utm_source", OpenApiTypes.STR),
    OpenApiParameter("utm_medium", OpenApiTypes.STR),
    OpenApiParameter("utm_campaign", OpenApiTypes.STR),
    OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv", "xlsx"]),
]


def report_filters(request: Any, user: Any, extra: dict[str, Any] | None = None) -> selectors.ReportFilters:
    """Validate the query string (400 naming the field) and refuse users without reports (403)."""
    if not selectors.can_see_reports(user):
        raise PermissionDenied
    form = ReportFilterForm(request.GET if hasattr(request, "GET") else request.query_params, user=user)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return form.filters(extra=extra)


class ReportView(APIView):
    report: ClassVar[str] = ""
    selector: ClassVar[Callable[..., dict[str, Any]]]
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer, XLSXRenderer]

    def get(self, request: Request) -> Any:
        filters = report_filters(request._request, request.user)
        data = type(self).selector(user=request.user, filters=filters)
        fmt = request.query_params.get("format", "json")
        if fmt in ("csv", "xlsx"):
            return export_response(self.report, data, fmt)
        return Response(data)


def _schema(name: str, row: dict[str, Any], summary: str, **extra: Any) -> Any:
    return extend_schema(
        parameters=FILTER_PARAMS,
        responses=inline_serializer(
            f"{name}Report", {"rows": inline_serializer(f"{name}Row", row, many=True), **extra}
        ),
        summary=summary,
    )


MONEY = serializers.DecimalField(max_digits=16, decimal_places=2)


class TrafficReportView(ReportView):
    report = "traffic"
    selector = staticmethod(selectors.traffic_report)

    @_schema(
        "Traffic",
        {
            "channel": serializers.CharField(),
            "source": serializers.CharField(),
            "total": serializers.IntegerField(),
            "non_target": serializers.IntegerField(),
            "non_target_share": serializers.FloatField(),
            "qualified": serializers.IntegerField(),
            "untriaged": serializers.IntegerField(),
            "non_target_reasons": serializers.DictField(child=serializers.IntegerField()),
        },
        "Traffic by channel and source with non-target counts (for everyone who may see the report)",
        totals=serializers.DictField(),
    )
    def get(self, request: Request) -> Any:
        return super().get(request)


class FunnelReportView(ReportView):
    report = "funnel"
    selector = staticmethod(selectors.funnel_report)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "breakdown",
                OpenApiTypes.STR,
                enum=list(selectors.BREAKDOWNS),
                description="Also give reached per stage for each value of this attribute of the deal's lead",
            )
        ]
    )
    @_schema(
        "Funnel",
        {
            "stage": serializers.CharField(),
            "stage_id": serializers.IntegerField(),
            "kind": serializers.CharField(),
            "count": serializers.IntegerField(),
            "amount": MONEY,
            "reached": serializers.IntegerField(),
            "reached_amount": MONEY,
            "step_conversion": serializers.FloatField(),
            "conversion": serializers.FloatField(),
            "time_median": serializers.IntegerField(allow_null=True, help_text="seconds"),
            "time_p90": serializers.IntegerField(allow_null=True, help_text="seconds"),
        },
        "Sales funnel from the stage history: reached, conversion, time in stage, stage x manager",
        total=serializers.IntegerField(),
        won=serializers.DictField(),
        by_manager=serializers.ListField(child=serializers.DictField()),
        lost_reasons=serializers.ListField(child=serializers.DictField()),
        breakdown=serializers.CharField(),
        by_group=serializers.ListField(child=serializers.DictField()),
    )
    def get(self, request: Request) -> Any:
        return super().get(request)


class ManagersReportView(ReportView):
    report = "managers"
    selector = staticmethod(selectors.managers_report)

    @_schema(
        "Managers",
        {
            "manager": serializers.IntegerField(),
            "name": serializers.CharField(),
            "leads": serializers.IntegerField(),
            "first_response_median": serializers.IntegerField(allow_null=True, help_text="seconds"),
            "first_response_p90": serializers.IntegerField(allow_null=True, help_text="seconds"),
            "calls_made": serializers.IntegerField(),
            "calls_answered": serializers.IntegerField(),
            "calls_missed": serializers.IntegerField(),
            "calls_returned": serializers.IntegerField(),
            "emails_sent": serializers.IntegerField(),
            "messages_sent": serializers.IntegerField(),
            "sla_compliance": serializers.FloatField(allow_null=True),
            "deals_won": serializers.IntegerField(),
            "revenue": MONEY,
            "average_deal": MONEY,
            "tasks_overdue": serializers.IntegerField(),
            "plan": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
            "plan_percent": serializers.FloatField(allow_null=True),
        },
        "Salespeople: leads, first response, calls, e-mails, messages, won deals, revenue, plan vs fact",
    )
    def get(self, request: Request) -> Any:
        return super().get(request)


class LostReasonsReportView(ReportView):
    report = "lost-reasons"
    selector = staticmethod(selectors.lost_reasons_report)

    @_schema(
        "LostReasons",
        {
            "reason": serializers.CharField(),
            "reason_id": serializers.IntegerField(allow_null=True),
            "count": serializers.IntegerField(),
            "amount": MONEY,
            "share": serializers.FloatField(),
        },
        "Deals lost in the period by reason",
        total=serializers.IntegerField(),
    )
    def get(self, request: Request) -> Any:
        return super().get(request)


class DataQualityReportView(ReportView):
    report = "data-quality"
    selector = staticmethod(selectors.data_quality_report)

    @extend_schema(
        parameters=[*FILTER_PARAMS, OpenApiParameter("stale_days", OpenApiTypes.INT)],
        responses=inline_serializer(
            "DataQualityReport",
            {
                "rows": inline_serializer(
                    "DataQualityRow",
                    {
                        "check": serializers.CharField(),
                        "title": serializers.CharField(),
                        "count": serializers.IntegerField(),
                    },
                    many=True,
                ),
                "stale_days": serializers.IntegerField(),
            },
        ),
        summary="Data quality: deals without source or amount, contacts without identity, duplicates, stale deals, untriaged leads",
    )
    def get(self, request: Request) -> Any:
        return super().get(request)


class SLAReportView(ReportView):
    report = "sla"
    selector = staticmethod(selectors.sla_report)

    @_schema(
        "SLA",
        {
            "policy": serializers.CharField(),
            "policy_id": serializers.IntegerField(),
            "person": serializers.CharField(),
            "person_id": serializers.IntegerField(allow_null=True),
            "met": serializers.IntegerField(),
            "breached": serializers.IntegerField(),
            "compliance": serializers.FloatField(allow_null=True),
        },
        "SLA met / breached by policy and person, totals per policy and per person, the longest breaches",
        available=serializers.BooleanField(),
        by_policy=serializers.ListField(child=serializers.DictField()),
        by_person=serializers.ListField(child=serializers.DictField()),
        longest=serializers.ListField(child=serializers.DictField()),
    )
    def get(self, request: Request) -> Any:
        return super().get(request)


class RegulationsReportView(ReportView):
    report = "regulations"
    selector = staticmethod(selectors.regulations_report)

    @_schema(
        "Regulations",
        {
            "article": serializers.CharField(),
            "article_id": serializers.IntegerField(),
            "version": serializers.IntegerField(),
            "audience": serializers.IntegerField(),
            "acknowledged": serializers.IntegerField(),
            "pending": serializers.IntegerField(),
            "share": serializers.FloatField(),
        },
        "Acknowledgements of the current version per regulation and per person; checklist adherence",
        by_person=serializers.ListField(child=serializers.DictField()),
        checklist_by_manager=serializers.ListField(child=serializers.DictField()),
        checklist_by_stage=serializers.ListField(child=serializers.DictField()),
    )
    def get(self, request: Request) -> Any:
        return super().get(request)

"""Reports API (CONTRACTS.md "Reports")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.crm.models import Pipeline
from otdel.reports.selectors import funnel_report, traffic_report


class PeriodSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all(), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "date_to is before date_from."})
        return attrs


PERIOD_PARAMS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
]


class TrafficReportView(APIView):
    @extend_schema(
        parameters=PERIOD_PARAMS,
        responses=inline_serializer(
            "TrafficReport",
            {
                "rows": inline_serializer(
                    "TrafficRow",
                    {
                        "channel": serializers.CharField(),
                        "source": serializers.CharField(),
                        "total": serializers.IntegerField(),
                        "non_target": serializers.IntegerField(),
                        "non_target_share": serializers.FloatField(),
                    },
                    many=True,
                )
            },
        ),
        summary="Traffic by channel and source with the non-target share",
    )
    def get(self, request: Request) -> Response:
        params = PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = traffic_report(
            user=request.user,
            date_from=params.validated_data.get("date_from"),
            date_to=params.validated_data.get("date_to"),
        )
        return Response({"rows": rows})


class FunnelReportView(APIView):
    @extend_schema(
        parameters=[*PERIOD_PARAMS, OpenApiParameter("pipeline", OpenApiTypes.INT)],
        responses=inline_serializer(
            "FunnelReport",
            {
                "rows": inline_serializer(
                    "FunnelRow",
                    {
                        "stage": serializers.CharField(),
                        "stage_id": serializers.IntegerField(),
                        "kind": serializers.CharField(),
                        "count": serializers.IntegerField(),
                        "amount": serializers.DecimalField(max_digits=16, decimal_places=2),
                        "conversion": serializers.FloatField(),
                    },
                    many=True,
                )
            },
        ),
        summary="Sales funnel: deals per stage and conversion",
    )
    def get(self, request: Request) -> Response:
        params = PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        pipeline = params.validated_data.get("pipeline") or Pipeline.objects.filter(is_default=True).first()
        if pipeline is None:
            return Response({"rows": []})
        rows = funnel_report(
            user=request.user,
            pipeline=pipeline,
            date_from=params.validated_data.get("date_from"),
            date_to=params.validated_data.get("date_to"),
        )
        return Response({"rows": rows})

"""Routing API: live routing for PBXs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.comms.api.views import IsIntegration
from otdel.routing.selectors import destination_payload, destination_text, live_route


class PlainTextRenderer(BaseRenderer):
    """``?format=text``: what an Asterisk dialplan reads with CURL()."""

    media_type = "text/plain"
    format = "text"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return str(data if isinstance(data, str) else "").encode(self.charset)


class TelephonyRouteView(APIView):
    permission_classes = [IsIntegration]
    renderer_classes = [JSONRenderer, PlainTextRenderer]

    @extend_schema(
        summary="Where should this ringing call go? (asked by the PBX)",
        parameters=[
            OpenApiParameter("caller", OpenApiTypes.STR, description="Caller number in any format"),
            OpenApiParameter("called", OpenApiTypes.STR, description="The DID that was dialled"),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "text"]),
        ],
        responses={
            200: inline_serializer(
                "RouteAnswer",
                {
                    "destination": serializers.DictField(),
                    "reason": serializers.ChoiceField(
                        choices=["non_target", "open_deal", "contact_owner", "queue", "fallback"]
                    ),
                    "contact": serializers.IntegerField(allow_null=True),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        destination = live_route(
            caller=request.query_params.get("caller", ""), called=request.query_params.get("called", "")
        )
        if request.query_params.get("format") == "text":
            return Response(destination_text(destination))
        return Response(destination_payload(destination))

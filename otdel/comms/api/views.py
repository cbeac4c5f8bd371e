"""API of the comms app: call-event intake and the client timeline."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.accounts.models import Role
from otdel.comms.intake import IntakeError, intake_accept, intake_reject, request_meta
from otdel.comms.telephony.recordings import recording_followup_enqueue
from otdel.routing.api.authentication import CachedTokenAuthentication


class IsIntegration(BasePermission):
    """PBXs and scripts use a technical user with role "integration"; administrators may too."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.role == Role.INTEGRATION or user.is_admin))


class CallEventSerializer(serializers.Serializer):
    call_id = serializers.CharField()
    event = serializers.ChoiceField(choices=["ringing", "answered", "ended", "recording"])
    direction = serializers.ChoiceField(choices=["in", "out"], required=False)
    caller = serializers.CharField(required=False)
    called = serializers.CharField(required=False)
    extension = serializers.CharField(required=False)
    at = serializers.DateTimeField(required=False)
    duration = serializers.IntegerField(required=False, min_value=0)
    status = serializers.ChoiceField(choices=["answered", "missed", "busy", "failed"], required=False)
    recording_url = serializers.URLField(required=False)


class TelephonyEventsView(APIView):
    # The PBX posts every call event with the same token: known tokens are answered from memory.
    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    permission_classes = [IsIntegration]

    @extend_schema(
        request=CallEventSerializer,
        responses={
            202: inline_serializer("Accepted", {"status": serializers.CharField()}),
            400: OpenApiResponse(description="Malformed event; kept in the intake log"),
        },
        summary="Report a call event (any number of repeats, any order)",
    )
    def post(self, request: Request) -> Response:
        body = request.body.decode("utf-8", errors="replace")
        meta = request_meta(request._request)
        try:
            payload = json.loads(body or "null")
        except ValueError:
            intake_reject(provider="generic", body=body, error="not JSON", meta=meta)
            return Response(
                {"errors": {"__all__": ["The body is not valid JSON."]}, "code": "invalid_json"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            log = intake_accept(provider="generic", body=body, payload=payload, meta=meta)
        except IntakeError as exc:
            intake_reject(
                provider="generic", body=body, error=json.dumps(exc.errors, ensure_ascii=False), meta=meta
            )
            return Response({"errors": exc.errors, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(payload, dict) and payload.get("recording_url"):
            recording_followup_enqueue(log)  # fetch the file into storage once the event is processed
        return Response({"status": "accepted"}, status=status.HTTP_202_ACCEPTED)

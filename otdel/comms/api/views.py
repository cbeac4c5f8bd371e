"""API of the comms app: call-event intake and the client timeline."""

from __future__ import annotations

import functools
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.accounts.permissions import may_integrate
from otdel.comms.errors import CommsErrorCode
from otdel.comms.intake import IntakeError, intake_accept, intake_refuse, request_meta
from otdel.comms.telephony.recordings import recording_followup_enqueue
from otdel.core import jsonsafe
from otdel.core.exceptions import ApiError
from otdel.routing.api.authentication import CachedTokenAuthentication


class IsIntegration(BasePermission):
    """PBXs and scripts use a technical user with role "integration"; administrators may too."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return may_integrate(request.user)


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


def _deliver_call_event(request: HttpRequest) -> dict[str, Any]:
    """Store one generic call event (answered 202), or raise IntakeError (400; the body is kept as
    refused)."""
    body = request.body.decode("utf-8", errors="replace")
    meta = request_meta(request)
    try:
        payload = jsonsafe.loads(request.body or b"null")
    except ValueError:
        intake_refuse(
            provider="generic",
            body=body,
            meta=meta,
            error=IntakeError(_("The body is not valid JSON."), CommsErrorCode.INVALID_JSON),
        )
    log = intake_accept(provider="generic", body=body, payload=payload, meta=meta)
    if isinstance(payload, dict) and payload.get("recording_url"):
        recording_followup_enqueue(log)  # fetch the file into storage once the event is processed
    return {"status": "accepted"}


# What DRF's content negotiation would answer with JSON; anything else goes through DRF.
_JSON_ACCEPTS = frozenset({"", "*/*", "application/*", "application/json"})


class TelephonyEventsView(APIView):
    """A PBX posts every call event here, with the same token; most of them in bursts.

    ``as_view`` puts a shortcut in front of DRF for the usual delivery: a POST with a token of an
    integration user or administrator (remembered like the live route's, see
    ``CachedTokenAuthentication``) that wants JSON back. It stores the event exactly as ``post``
    does and answers the same bytes and headers DRF would, without DRF's request wrapping,
    authenticator and permission objects, negotiation and rendering (a third of the view's CPU
    time). Everything else (no or a wrong token, another user, another method or Accept) is
    DRF's, with its usual answers.
    """

    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    permission_classes = [IsIntegration]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        drf_view = super().as_view(**initkwargs)
        authentication = CachedTokenAuthentication()
        headers = {"Allow": "POST, OPTIONS", "Vary": "Accept"}

        @functools.wraps(drf_view)  # keeps csrf_exempt and what the schema generator reads (cls)
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method != "POST" or not authentication.integration_token(request):
                return drf_view(request, *args, **kwargs)
            accepts = {
                part.split(";", 1)[0].strip() for part in request.META.get("HTTP_ACCEPT", "").split(",")
            }
            if not accepts <= _JSON_ACCEPTS:
                return drf_view(request, *args, **kwargs)
            try:
                code, data = 202, _deliver_call_event(request)
            except ApiError as exc:
                code, data = exc.status, exc.body()
            # As DRF's JSONRenderer writes it (compact, UTF-8, line separators escaped).
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            content = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
            return HttpResponse(content, status=code, content_type="application/json", headers=headers)

        return view

    @extend_schema(
        request=CallEventSerializer,
        responses={
            202: inline_serializer("Accepted", {"status": serializers.CharField()}),
            400: OpenApiResponse(description="Malformed event; kept in the intake log"),
        },
        summary="Report a call event (any number of repeats, any order)",
    )
    def post(self, request: Request) -> Response:
        return Response(_deliver_call_event(request._request), status=202)

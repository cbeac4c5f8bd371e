"""Provider webhooks (Zadarma, Mango Office) and the click-to-call endpoint."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.comms.errors import CommsErrorCode
from otdel.comms.intake import IntakeError, intake_accept, intake_refuse, request_meta
from otdel.comms.models import TelephonyProvider
from otdel.comms.telephony.click_to_call import call_originate
from otdel.comms.telephony.common import TelephonyError, active_provider, provider_string
from otdel.comms.telephony.mango import (
    EVENT_FIELD,
    HANDLED_EVENTS,
    mango_route_plan,
    mango_route_result,
    mango_route_send,
    mango_signature_valid,
)
from otdel.comms.telephony.recordings import recording_followup_enqueue
from otdel.comms.telephony.zadarma import EVENTS as ZADARMA_EVENTS
from otdel.comms.telephony.zadarma import (
    zadarma_first_delivery,
    zadarma_signature_valid,
    zadarma_stale,
    zadarma_start_reply,
)
from otdel.core import jsonsafe
from otdel.core.exceptions import ApiError
from otdel.core.scoping import get_scoped_or_404
from otdel.crm.models import Contact


def _provider_or_404(kind: str, key: str) -> TelephonyProvider:
    provider = active_provider(kind, key)
    if provider is None:
        raise Http404
    return provider


def _unauthorized(provider: TelephonyProvider, body: str, meta: dict[str, Any], reason: str) -> NoReturn:
    intake_refuse(
        provider=provider_string(provider),
        body=body,
        meta=meta,
        reason=reason,
        authenticated=False,
        error=ApiError(
            _("The signature does not match."),
            CommsErrorCode.BAD_SIGNATURE,
            status=status.HTTP_401_UNAUTHORIZED,
        ),
    )


def _accept(provider: TelephonyProvider, payload: dict[str, Any], body: str, meta: dict[str, Any]) -> None:
    """Store a verified delivery for background processing (IntakeError: refused, answered 400)."""
    stored = json.dumps(payload, ensure_ascii=False)
    log = intake_accept(
        provider=provider_string(provider), body=stored, payload=payload, meta=meta, raw_body=body
    )
    recording_followup_enqueue(log)


def _form(request: Request) -> dict[str, str]:
    return {key: str(value) for key, value in request.data.items()}


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = jsonsafe.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


WEBHOOK_SCHEMA = {
    200: OpenApiResponse(description="Accepted (empty body)"),
    400: OpenApiResponse(description="Malformed notification; kept in the intake log"),
    401: OpenApiResponse(description="Missing or wrong signature; kept in the intake log, nothing stored"),
    404: OpenApiResponse(description="No active provider with this key"),
}


class ZadarmaWebhookView(APIView):
    """Zadarma's PBX notifications, signed with the API secret (header ``Signature``)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser]

    @extend_schema(
        summary="Zadarma URL check (answers zd_echo)",
        parameters=[OpenApiParameter("zd_echo", OpenApiTypes.STR)],
        responses={200: OpenApiResponse(description="The zd_echo value as plain text"), 404: None},
    )
    def get(self, request: Request, key: str) -> HttpResponse:
        _provider_or_404("zadarma", key)
        return HttpResponse(request.query_params.get("zd_echo", ""), content_type="text/plain; charset=utf-8")

    @extend_schema(
        summary="Zadarma call notification (NOTIFY_START, NOTIFY_ANSWER, NOTIFY_END, NOTIFY_OUT_*, NOTIFY_RECORD)",
        description=(
            "The answer to NOTIFY_START may carry live routing for Zadarma: "
            '`{"redirect": "<extension>", "caller_name": "<contact>"}` (either key may be missing); '
            "every other answer has an empty body."
        ),
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={
            **WEBHOOK_SCHEMA,
            200: OpenApiResponse(
                description="Accepted: empty, or for NOTIFY_START a JSON routing instruction"
            ),
        },
    )
    def post(self, request: Request, key: str) -> HttpResponse:
        provider = _provider_or_404("zadarma", key)
        body = request.body.decode("utf-8", errors="replace")
        meta = request_meta(request._request)
        payload = _form(request)
        event = payload.get("event", "")
        if event not in ZADARMA_EVENTS:
            # NOTIFY_IVR, SMS, speech recognition...: nothing of ours; 200 so Zadarma does not retry.
            return HttpResponse(status=status.HTTP_200_OK)
        signature = request.headers.get("Signature", "")
        if not zadarma_signature_valid(secret=provider.api_secret, payload=payload, signature=signature):
            _unauthorized(provider, body, meta, "missing signature" if not signature else "bad signature")
        # A signature covers no nonce: refuse an old notification replayed, drop an exact repeat.
        if zadarma_stale(payload, timezone.now()):
            intake_refuse(
                provider=provider_string(provider),
                body=body,
                meta=meta,
                reason="stale call_start",
                authenticated=False,
                error=ApiError(
                    _("The notification is too old or from the future (call_start); not accepted."),
                    CommsErrorCode.STALE_EVENT,
                    status=status.HTTP_400_BAD_REQUEST,
                ),
            )
        if not zadarma_first_delivery(provider.key, signature, body):
            return HttpResponse(status=status.HTTP_200_OK)
        # Live routing reads the call as it arrives, before this very event is stored.
        reply = zadarma_start_reply(provider, payload) if event == "NOTIFY_START" else None
        _accept(provider, payload, body, meta)
        if reply:
            return HttpResponse(json.dumps(reply), content_type="application/json")
        return HttpResponse(status=status.HTTP_200_OK)


class MangoWebhookView(APIView):
    """Mango Office realtime events: form fields vpbx_api_key, sign = sha256(key + json + salt), json."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser]

    @extend_schema(
        summary="Mango Office event (events/call, events/summary, events/recording, events/record/added)",
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses=WEBHOOK_SCHEMA,
    )
    def post(self, request: Request, key: str, event: str) -> HttpResponse:
        provider = _provider_or_404("mango", key)
        body = request.body.decode("utf-8", errors="replace")
        meta = request_meta(request._request)
        form = _form(request)
        json_text = form.get("json", "")
        if not mango_signature_valid(
            provider=provider,
            api_key=form.get("vpbx_api_key", ""),
            json_text=json_text,
            sign=form.get("sign", ""),
        ):
            _unauthorized(
                provider, body, meta, "missing signature" if not form.get("sign") else "bad signature"
            )
        path = event.strip("/")
        name = path.removeprefix("events/")
        if path == "result/route":
            result = _json_object(json_text)
            if result is not None:
                mango_route_result(provider, result)
            return HttpResponse(status=status.HTTP_200_OK)
        if not path.startswith("events/") or name not in HANDLED_EVENTS:
            return HttpResponse(status=status.HTTP_200_OK)  # dtmf, sms, other results: not ours to keep
        payload = _json_object(json_text)
        if payload is None:
            intake_refuse(
                provider=provider_string(provider),
                body=body,
                meta=meta,
                reason="json is not a JSON object",
                error=IntakeError({"json": [_("Send a JSON object.")]}, CommsErrorCode.INVALID_JSON),
            )
        # Live routing reads the call as it arrives, before this very event is stored.
        plan = mango_route_plan(provider, payload) if name == "call" else None
        _accept(provider, {**payload, EVENT_FIELD: name}, body, meta)
        if plan is not None:
            # The call rings now: the command goes out in this request, with a short timeout.
            mango_route_send(provider, plan)
        return HttpResponse(status=status.HTTP_200_OK)


class CallInputSerializer(serializers.Serializer):
    contact = serializers.IntegerField(required=False)
    number = serializers.CharField(required=False, max_length=64)
    provider = serializers.CharField(
        required=False, max_length=64, help_text="Provider key; default: the first active"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("contact") and not attrs.get("number"):
            raise serializers.ValidationError({"contact": [_("Give a contact id or a number.")]})
        return attrs


class TelephonyCallView(APIView):
    """Click-to-call: the employee's phone rings, then the client's."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Call a contact or a number from my extension (click-to-call)",
        request=CallInputSerializer,
        responses={
            202: inline_serializer(
                "CallPlaced",
                {
                    "status": serializers.CharField(),
                    "provider": serializers.CharField(),
                    "number": serializers.CharField(),
                    "extension": serializers.CharField(),
                },
            ),
            400: OpenApiResponse(description="No extension, no phone number or no provider that can call"),
            404: OpenApiResponse(description="Contact not found (or not yours to see)"),
            502: OpenApiResponse(description="The PBX or the provider did not take the call"),
        },
    )
    def post(self, request: Request) -> Response:
        data = CallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = None
        if data.validated_data.get("contact"):
            contact = get_scoped_or_404(
                Contact.objects.all(), request.user, pk=data.validated_data["contact"]
            )
        provider = None
        if data.validated_data.get("provider"):
            provider = TelephonyProvider.objects.filter(key=data.validated_data["provider"]).first()
            if provider is None:
                raise ApiError({"provider": [_("Unknown telephony provider.")]}, CommsErrorCode.INVALID)
        try:
            placed = call_originate(
                actor=request.user,  # type: ignore[arg-type]  # IsAuthenticated: a real user
                contact=contact,
                number=data.validated_data.get("number"),
                provider=provider,
            )
        except TelephonyError as exc:
            raise ApiError(
                str(exc), CommsErrorCode.TELEPHONY_UNAVAILABLE, status=status.HTTP_502_BAD_GATEWAY
            ) from exc
        return Response(
            {
                "status": "calling",
                "provider": placed.provider.key,
                "number": placed.number,
                "extension": placed.extension,
            },
            status=status.HTTP_202_ACCEPTED,
        )

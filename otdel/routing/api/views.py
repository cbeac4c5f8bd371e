"""Routing API: live routing for PBXs, queues, settings, the decision log, the what-if tester."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.accounts.models import User
from otdel.accounts.permissions import may_manage_routing
from otdel.comms.api.views import IsIntegration
from otdel.core.identity import guess_identity, normalize_identity
from otdel.crm.selectors import contact_by_identity
from otdel.routing import services
from otdel.routing.api.authentication import CachedTokenAuthentication
from otdel.routing.api.serializers import (
    BlockedIdentitySerializer,
    QueueInputSerializer,
    QueueSerializer,
    RoutingDecisionSerializer,
    RoutingSettingsInputSerializer,
    RoutingSettingsSerializer,
)
from otdel.routing.models import BlockedIdentity, Queue, RoutingDecision, RoutingSettings
from otdel.routing.selectors import destination_payload, live_route_response


class IsRoutingManager(BasePermission):
    """Queues, settings, the log and the what-if tester: administrators and the head of sales."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return may_manage_routing(user)


class PlainTextRenderer(BaseRenderer):
    """``?format=text``: what an Asterisk dialplan reads with CURL()."""

    media_type = "text/plain"
    format = "text"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return str(data if isinstance(data, str) else "").encode(self.charset)


class TelephonyRouteView(APIView):
    """Asked by the PBX on every ringing call: the token and the routing configuration come from
    in-process memory, so a known caller costs one indexed query and nothing is written."""

    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
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
    def get(self, request: Request) -> HttpResponse:
        # A PBX with a valid integration token is answered by LiveRouteMiddleware before this view;
        # this path serves session users and refuses bad tokens in the API's error shape.
        return live_route_response(request._request.GET)


def _user_ref(value: Any) -> User | None:
    return User.objects.filter(pk=value).first() if value not in (None, "") else None


class QueueListView(generics.ListAPIView):
    permission_classes = [IsRoutingManager]
    serializer_class = QueueSerializer
    queryset = Queue.objects.prefetch_related("memberships").order_by("code")

    @extend_schema(request=QueueInputSerializer, responses={201: QueueSerializer})
    def post(self, request: Request) -> Response:
        data = QueueInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "duty_user" in fields:
            fields["duty_user"] = _user_ref(fields["duty_user"])
        queue = services.queue_create(actor=request.user, **fields)
        return Response(QueueSerializer(queue).data, status=status.HTTP_201_CREATED)


class QueueDetailView(generics.RetrieveAPIView):
    permission_classes = [IsRoutingManager]
    serializer_class = QueueSerializer
    queryset = Queue.objects.prefetch_related("memberships")
    lookup_field = "code"

    @extend_schema(request=QueueInputSerializer, responses=QueueSerializer)
    def patch(self, request: Request, code: str) -> Response:
        queue = self.get_object()
        data = QueueInputSerializer(
            data={"code": queue.code, "name": queue.name, **request.data}, partial=True
        )
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k in request.data and k != "code"}
        if "duty_user" in fields:
            fields["duty_user"] = _user_ref(fields["duty_user"])
        queue = services.queue_update(actor=request.user, queue=queue, **fields)
        return Response(QueueSerializer(queue).data)


class RoutingSettingsView(APIView):
    permission_classes = [IsRoutingManager]

    @extend_schema(responses=RoutingSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(RoutingSettingsSerializer(RoutingSettings.load()).data)

    @extend_schema(request=RoutingSettingsInputSerializer, responses=RoutingSettingsSerializer)
    def put(self, request: Request) -> Response:
        data = RoutingSettingsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cfg = services.routing_settings_update(actor=request.user, **data.validated_data)
        return Response(RoutingSettingsSerializer(cfg).data)

    patch = put


class RoutingDecisionListView(generics.ListAPIView):
    """The routing log: why did each contact go where it went."""

    permission_classes = [IsRoutingManager]
    serializer_class = RoutingDecisionSerializer
    filterset_fields = ["channel", "reason", "user", "contact", "live"]

    def get_queryset(self) -> Any:
        return RoutingDecision.objects.select_related("user", "queue").order_by("-created_at", "-id")


class WhatIfView(APIView):
    """What would happen if this phone/e-mail/chat contacted us now? Read-only."""

    permission_classes = [IsRoutingManager]

    @extend_schema(
        parameters=[
            OpenApiParameter("identity", OpenApiTypes.STR, description="Phone or e-mail in any format"),
            OpenApiParameter("channel", OpenApiTypes.STR, description="call, email, telegram, form"),
            OpenApiParameter("queue", OpenApiTypes.STR, description="The line's/form's queue code"),
        ],
        responses=inline_serializer(
            "WhatIf",
            {
                "destination": serializers.DictField(),
                "reason": serializers.CharField(),
                "rule": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        text = request.query_params.get("identity", "")
        channel = request.query_params.get("channel") or "call"
        guess = guess_identity(text)
        contact = contact_by_identity(kind=guess[0], value=guess[1]) if guess else None
        queue = Queue.objects.filter(code=request.query_params.get("queue") or "").first()
        destination = services.routing_decide(
            contact=contact, channel=channel, queue=queue, assign=False, identity=guess
        )
        return Response({**destination_payload(destination), "identity": list(guess) if guess else None})


class BlockedIdentityListView(generics.ListAPIView):
    permission_classes = [IsRoutingManager]
    serializer_class = BlockedIdentitySerializer
    queryset = BlockedIdentity.objects.order_by("-created_at")

    @extend_schema(request=BlockedIdentitySerializer, responses={201: BlockedIdentitySerializer})
    def post(self, request: Request) -> Response:
        data = BlockedIdentitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            normalize_identity(data.validated_data["kind"], data.validated_data["value"])
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
        block = services.identity_block(actor=request.user, **data.validated_data)
        return Response(BlockedIdentitySerializer(block).data, status=status.HTTP_201_CREATED)


class BlockedIdentityDetailView(mixins.RetrieveModelMixin, generics.GenericAPIView):
    permission_classes = [IsRoutingManager]
    serializer_class = BlockedIdentitySerializer
    queryset = BlockedIdentity.objects.all()

    def get(self, request: Request, pk: int) -> Response:
        return self.retrieve(request, pk=pk)

    def delete(self, request: Request, pk: int) -> Response:
        services.identity_unblock(actor=request.user, block=get_object_or_404(BlockedIdentity, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

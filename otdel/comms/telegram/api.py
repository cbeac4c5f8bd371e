"""Telegram API: bot registration (admin), the webhook Telegram posts to, replies from the contact card."""

from __future__ import annotations

import functools
import hmac
import json
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.accounts.permissions import is_admin
from otdel.comms.errors import CommsErrorCode
from otdel.comms.intake import IntakeError, intake_accept, intake_refuse, request_meta
from otdel.comms.models import Interaction, TelegramBot
from otdel.comms.selectors import interaction_summary
from otdel.comms.telegram import services
from otdel.comms.telegram.parse import provider_for, webhook_payload
from otdel.comms.telegram.selectors import telegram_bot_by_key, telegram_bot_list
from otdel.core import jsonsafe
from otdel.core.exceptions import ApiError
from otdel.core.scoping import get_scoped_or_404
from otdel.crm.models import Contact

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class IsAdmin(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return is_admin(user)


# --- bots ------------------------------------------------------------------------------------


class TelegramBotCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    key = serializers.SlugField(max_length=services.KEY_MAX_LENGTH, help_text="Part of the webhook URL.")
    token = serializers.CharField(max_length=255, write_only=True, help_text="From @BotFather.")
    queue = serializers.SlugField(required=False, allow_null=True, allow_blank=True, help_text="Queue code.")
    api_base_url = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Default https://api.telegram.org."
    )


class TelegramBotUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    key = serializers.CharField(required=False, help_text="Read-only; sending a different one is an error.")
    token = serializers.CharField(max_length=255, required=False, write_only=True)
    queue = serializers.SlugField(required=False, allow_null=True, allow_blank=True)
    api_base_url = serializers.CharField(max_length=255, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    version = serializers.IntegerField(required=False, help_text="The version you read (optimistic locking).")


class TelegramBotSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = TelegramBot
        fields = [
            "id",
            "name",
            "key",
            "username",
            "queue",
            "api_base_url",
            "is_active",
            "webhook_url",
            "webhook_set_at",
            "last_error",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, bot: TelegramBot) -> str:
        return services.telegram_webhook_url(bot)


class TelegramBotListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        summary="Telegram bots",
        operation_id="telegram_bots_list",
        responses=inline_serializer("TelegramBotList", {"results": TelegramBotSerializer(many=True)}),
    )
    def get(self, request: Request) -> Response:
        bots = telegram_bot_list(user=request.user)
        return Response({"results": TelegramBotSerializer(bots, many=True).data})

    @extend_schema(
        summary="Register a bot: checks the token (getMe) and sets the webhook with a secret token",
        request=TelegramBotCreateSerializer,
        responses={201: TelegramBotSerializer},
    )
    def post(self, request: Request) -> Response:
        data = TelegramBotCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.telegram_bot_create(actor=request.user, **data.validated_data)
        return Response(TelegramBotSerializer(bot).data, status=status.HTTP_201_CREATED)


class TelegramBotDetailView(APIView):
    permission_classes = [IsAdmin]

    def _bot(self, request: Request, pk: int) -> TelegramBot:
        return get_scoped_or_404(TelegramBot.objects.select_related("queue"), request.user, pk=pk)

    @extend_schema(summary="A Telegram bot", responses=TelegramBotSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(TelegramBotSerializer(self._bot(request, pk)).data)

    @extend_schema(
        summary="Change a bot (a new token is checked and gets the webhook; is_active=false removes it)",
        request=TelegramBotUpdateSerializer,
        responses=TelegramBotSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        bot = self._bot(request, pk)
        data = TelegramBotUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        bot = services.telegram_bot_update(actor=request.user, bot=bot, expected_version=version, **fields)
        return Response(TelegramBotSerializer(bot).data)

    @extend_schema(summary="Remove a bot and its webhook", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.telegram_bot_delete(actor=request.user, bot=self._bot(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TelegramBotWebhookView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        summary="Set the bot's webhook again (after the public URL changed)",
        request=None,
        responses=TelegramBotSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        bot = get_scoped_or_404(TelegramBot.objects.all(), request.user, pk=pk)
        bot = services.telegram_bot_webhook_set(actor=request.user, bot=bot)
        return Response(TelegramBotSerializer(bot).data)


# --- the webhook -----------------------------------------------------------------------------


class TelegramErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    BOT_INACTIVE = "bot_inactive"


class TelegramWebhookView(APIView):
    """Telegram posts each Update here; the secret token header proves it is Telegram."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Telegram webhook (set by bot registration)",
        parameters=[
            OpenApiParameter(SECRET_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
        ],
        request=OpenApiTypes.OBJECT,
        responses={
            200: inline_serializer("TelegramAccepted", {"status": serializers.CharField()}),
            400: OpenApiResponse(description="Malformed update; kept in the intake log"),
            401: OpenApiResponse(description="No secret token"),
            403: OpenApiResponse(description="Wrong secret token"),
            404: OpenApiResponse(description="No bot with this key"),
        },
    )
    def post(self, request: Request, bot_key: str) -> Response:
        body = request.body.decode("utf-8", errors="replace")
        meta = request_meta(request._request)
        # The secret must not end up in the intake log, right or wrong.
        meta["headers"] = {
            k: ("<hidden>" if k.lower() == SECRET_HEADER.lower() else v) for k, v in meta["headers"].items()
        }
        provider = provider_for(bot_key)[:64]
        bot = telegram_bot_by_key(key=bot_key)
        refuse = functools.partial(intake_refuse, provider=provider, body=body, meta=meta)
        if bot is None:
            # Nothing is stored for a key nobody registered: anyone could post here.
            raise ApiError(_("Not found."), TelegramErrorCode.NOT_FOUND, status=status.HTTP_404_NOT_FOUND)
        secret = request.headers.get(SECRET_HEADER, "")
        # Until the secret matches, the sender is anyone: keep a bounded prefix and a hash only.
        stranger = functools.partial(refuse, authenticated=False)
        if not secret:
            stranger(
                reason="no secret token header",
                error=ApiError(
                    _("The %(header)s header is required.") % {"header": SECRET_HEADER},
                    TelegramErrorCode.NOT_AUTHENTICATED,
                    status=status.HTTP_401_UNAUTHORIZED,
                ),
            )
        if not hmac.compare_digest(secret.encode(), bot.secret_token.encode()):
            stranger(
                reason="wrong secret token",
                error=ApiError(
                    _("Wrong secret token."),
                    TelegramErrorCode.PERMISSION_DENIED,
                    status=status.HTTP_403_FORBIDDEN,
                ),
            )
        if not bot.is_active:
            refuse(
                reason="the bot is switched off",
                error=ApiError(
                    _("The bot is switched off."),
                    TelegramErrorCode.BOT_INACTIVE,
                    status=status.HTTP_403_FORBIDDEN,
                ),
            )
        try:
            update = jsonsafe.loads(request.body or b"null")
        except ValueError:
            refuse(
                reason="not JSON",
                error=IntakeError(_("The body is not valid JSON."), CommsErrorCode.INVALID_JSON),
            )
        payload = webhook_payload(bot.key, update)
        intake_accept(
            provider=provider,
            body=json.dumps(payload, ensure_ascii=False),
            payload=payload,
            meta=meta,
            raw_body=body,
        )
        # No "method" in the answer: Telegram would run it as a Bot API call.
        return Response({"status": "accepted"}, status=status.HTTP_200_OK)


# --- replies from the card -------------------------------------------------------------------


class TelegramReplySerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    bot = serializers.SlugField(
        required=False, help_text="Bot key; default: the bot the client last talked to."
    )


class TelegramSentSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="occurred_at")
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = ["id", "channel", "direction", "at", "summary", "body", "provider", "external_id", "contact"]
        read_only_fields = fields

    def get_summary(self, interaction: Interaction) -> str:
        return interaction_summary(interaction)


class ContactTelegramView(APIView):
    @extend_schema(
        summary="Write to the contact in Telegram; the message lands on their timeline",
        request=TelegramReplySerializer,
        responses={201: TelegramSentSerializer},
    )
    def post(self, request: Request, contact_id: int) -> Response:
        contact = get_scoped_or_404(Contact.objects.all(), request.user, pk=contact_id)
        data = TelegramReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = None
        if data.validated_data.get("bot"):
            bot = telegram_bot_by_key(key=data.validated_data["bot"])
            if bot is None:
                raise serializers.ValidationError({"bot": [_("There is no bot with this key.")]})
        interaction = services.telegram_send(
            actor=request.user, contact=contact, text=data.validated_data["text"], bot=bot
        )
        return Response(TelegramSentSerializer(interaction).data, status=status.HTTP_201_CREATED)

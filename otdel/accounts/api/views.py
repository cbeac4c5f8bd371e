"""API views of accounts: exchanging a password for a token, and user administration."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from otdel.accounts import services, twofactor
from otdel.accounts.api.serializers import (
    IntegrationTokenCreatedSerializer,
    IntegrationTokenInputSerializer,
    IntegrationTokenSerializer,
    TokenObtainSerializer,
    TokenSerializer,
    UserCreateInputSerializer,
    UserSerializer,
    UserUpdateInputSerializer,
)
from otdel.accounts.models import ApiToken, User
from otdel.accounts.permissions import is_admin
from otdel.api.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, ScopedViewSet
from otdel.api.permissions import IsAdmin
from otdel.core.exceptions import ApiError
from otdel.core.net import client_ip
from otdel.core.scoping import scope


class TokenRateThrottle(AnonRateThrottle):
    """Slows down password guessing against the token endpoint (429 past the rate)."""

    scope = "auth_token"
    rate = "30/minute"

    def get_ident(self, request: Request) -> str:
        # DRF's own reads any X-Forwarded-For a client sends: a new one per request, a new bucket.
        return client_ip(request._request) or ""


class TokenObtainView(APIView):
    # No authentication: a stale or foreign token in the headers must not stop getting a new one.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRateThrottle]

    @extend_schema(
        summary="Exchange a username and password for an API token",
        request=TokenObtainSerializer,
        responses={200: TokenSerializer, 400: BAD_REQUEST},
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None and getattr(request._request, "axes_locked_out", False):
            raise ApiError(
                str(_("Too many failed sign-in attempts. Try again later or ask an administrator.")),
                "locked_out",
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None:
            raise ValidationError(
                {"__all__": [_("Wrong username or password, or the account is switched off.")]},
                code="invalid_credentials",
            )
        if twofactor.required_for(user):
            if twofactor.confirmed_device(user) is None:
                raise ValidationError(
                    {"otp": [_("Administrators sign in with a second factor: set it up on the web first.")]},
                    code="two_factor_setup_required",
                )
            code = data.validated_data.get("otp") or ""
            if twofactor.code_verify(user=user, code=code) is None:
                raise ValidationError(
                    {"otp": [_("Send the code from the authenticator app (wrong, expired or missing).")]},
                    code="two_factor_required",
                )
        return Response({"token": services.user_token_issue(user=user)})


class AdminOrSelf(BasePermission):
    """``/users/me`` for everyone signed in; the rest of ``/users`` for administrators."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", None) == "me":
            return IsAuthenticated().has_permission(request, view)
        return IsAdmin().has_permission(request, view)


@extend_schema_view(
    list=extend_schema(
        summary="List users (administrators)", responses={200: UserSerializer(many=True), 403: FORBIDDEN}
    ),
    retrieve=extend_schema(
        summary="One user (administrators)", responses={200: UserSerializer, 403: FORBIDDEN, 404: NOT_FOUND}
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    permission_classes = [AdminOrSelf]
    serializer_class = UserSerializer
    filterset_fields = ["role", "department", "is_active"]

    def scoped_queryset(self) -> QuerySet[User]:
        return scope(User.objects.select_related("department"), self.request.user).order_by(
            "full_name", "username"
        )

    @extend_schema(
        summary="Create a user (administrators)",
        request=UserCreateInputSerializer,
        responses={201: UserSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        user = services.user_create(
            actor=request.user, username=fields.pop("username"), password=fields.pop("password"), **fields
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a user (administrators); send only the fields to change",
        request=UserUpdateInputSerializer,
        responses={200: UserSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        data = UserUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        user = services.user_update(
            actor=request.user, user=user, password=fields.pop("password", None), **fields
        )
        return Response(UserSerializer(user).data)

    @extend_schema(summary="The signed-in user", responses={200: UserSerializer})
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def me(self, request: Request) -> Response:
        user = User.objects.select_related("department").get(pk=request.user.pk)
        return Response(UserSerializer(user).data)


@extend_schema(tags=["integration tokens"])
class IntegrationTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Tokens for PBXs and scripts (administrators): made with scopes, the secret shown once."""

    permission_classes = [IsAdmin]
    serializer_class = IntegrationTokenSerializer
    filterset_fields: list[str] = []

    def scoped_queryset(self) -> QuerySet[ApiToken]:
        if not is_admin(self.request.user):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(kind=ApiToken.Kind.INTEGRATION).select_related("user")

    @extend_schema(
        summary="Make an integration token (administrators); the secret is in this answer only",
        request=IntegrationTokenInputSerializer,
        responses={201: IntegrationTokenCreatedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        data = IntegrationTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = services.integration_token_create(actor=request.user, **data.validated_data)
        token.token = secret  # type: ignore[attr-defined]
        return Response(IntegrationTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke an integration token at once (administrators)",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        services.token_revoke(actor=request.user, token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

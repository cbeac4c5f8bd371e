"""API of the privacy app: consent purposes and the versions of their wording (administrators)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from otdel.accounts.permissions import is_admin
from otdel.privacy.models import ConsentPurpose, ConsentText
from otdel.privacy.selectors import consent_purpose_get, consent_purpose_list, current_text
from otdel.privacy.services import consent_purpose_upsert


class IsAdministrator(BasePermission):
    """Settings endpoints: administrators only (anyone else signed in gets 403)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return is_admin(user)


class ConsentPurposeInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=255)
    text = serializers.CharField(trim_whitespace=False)
    is_active = serializers.BooleanField(required=False)


class ConsentTextSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentText
        fields = ["version", "text", "sha256", "created_at"]


class ConsentPurposeOutputSerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField(help_text="Current text version")
    text = serializers.SerializerMethodField(help_text="Current wording")
    sha256 = serializers.SerializerMethodField(help_text="SHA-256 of the current wording (UTF-8)")

    class Meta:
        model = ConsentPurpose
        fields = ["id", "code", "title", "is_active", "version", "text", "sha256", "created_at", "updated_at"]

    def _current(self, obj: ConsentPurpose) -> ConsentText | None:
        return current_text(obj)

    def get_version(self, obj: ConsentPurpose) -> int | None:
        text = self._current(obj)
        return text.version if text else None

    def get_text(self, obj: ConsentPurpose) -> str:
        text = self._current(obj)
        return text.text if text else ""

    def get_sha256(self, obj: ConsentPurpose) -> str:
        text = self._current(obj)
        return text.sha256 if text else ""


class ConsentPurposeDetailSerializer(ConsentPurposeOutputSerializer):
    versions = serializers.SerializerMethodField()

    class Meta(ConsentPurposeOutputSerializer.Meta):
        fields = [*ConsentPurposeOutputSerializer.Meta.fields, "versions"]

    @extend_schema(responses=ConsentTextSerializer(many=True))
    def get_versions(self, obj: ConsentPurpose) -> Any:
        return ConsentTextSerializer(
            getattr(obj, "versions", None) or obj.texts.order_by("-version"), many=True
        ).data


class ConsentPurposeListView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = ConsentPurposeOutputSerializer

    def get_queryset(self) -> Any:
        return consent_purpose_list(user=self.request.user)

    @extend_schema(
        summary="Consent purposes with their current wording",
        responses=ConsentPurposeOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConsentPurposeOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a consent purpose, or store a new version of its wording",
        description="201 when the purpose or a new text version was created; 200 when the text is unchanged.",
        request=ConsentPurposeInputSerializer,
        responses={201: ConsentPurposeDetailSerializer, 200: ConsentPurposeDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        data = ConsentPurposeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = consent_purpose_upsert(actor=request.user, **data.validated_data)
        purpose = consent_purpose_get(user=request.user, code=result.purpose.code)
        return Response(
            ConsentPurposeDetailSerializer(purpose).data,
            status=status.HTTP_201_CREATED if result.new_version else status.HTTP_200_OK,
        )


class ConsentPurposeDetailView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = ConsentPurposeDetailSerializer

    @extend_schema(summary="A consent purpose with every version of its wording")
    def get(self, request: Request, code: str) -> Response:
        return Response(
            ConsentPurposeDetailSerializer(consent_purpose_get(user=request.user, code=code)).data
        )

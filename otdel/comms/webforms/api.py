"""API of web forms: settings for administrators; the public definition and submissions, with CORS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.api.parsers import StrictJSONParser as JSONParser
from otdel.comms.errors import CommsErrorCode
from otdel.comms.models import WebForm
from otdel.comms.webforms.http import submission_meta
from otdel.comms.webforms.selectors import (
    UTM_FIELDS,
    origin_host,
    webform_by_slug,
    webform_definition,
    webform_get,
    webform_list,
    webform_origin_allowed,
    webform_origins,
    webform_public,
    webform_success_message,
)
from otdel.comms.webforms.services import (
    FIELD_TYPES,
    SubmissionRateLimited,
    webform_create,
    webform_submit,
    webform_update,
)
from otdel.core.exceptions import ApiError
from otdel.privacy.api import IsAdministrator


def public_base(request: Request) -> str:
    """Otdel's address as websites reach it: OTDEL_PUBLIC_URL when set (behind a proxy), else this request's."""
    configured = str(getattr(settings, "OTDEL_PUBLIC_URL", "") or "")
    return (configured or request.build_absolute_uri("/")).rstrip("/")


def embed_snippet(base: str, slug: str) -> str:
    """The HTML a website pastes where the form should appear."""
    return (
        f'<div data-otdel-form="{slug}"></div>\n'
        f'<script src="{base}{static("comms/embed.js")}" data-otdel="{base}" async></script>'
    )


# --- administrators ----------------------------------------------------------------------------


class FormFieldSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Lower-case Latin letters, digits, _")
    # DRF takes declared fields off the class, so these names do not clash with Field.label/required.
    label = serializers.CharField()  # type: ignore[assignment]
    type = serializers.ChoiceField(choices=FIELD_TYPES, default="text")
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]
    options = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="For type select"
    )


class WebFormInputSerializer(serializers.Serializer):
    """Only the shape is checked here; the service validates values and reports every field at once."""

    slug = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120)
    title = serializers.CharField(required=False, allow_blank=True)
    queue = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Queue code")
    consent_purposes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Purpose codes"
    )
    fields = serializers.ListField(  # type: ignore[assignment]  # the contract's name; DRF pops it off the class
        child=serializers.JSONField(), required=False, help_text="Extra fields"
    )
    allowed_origins = serializers.JSONField(
        required=False, help_text='Sites allowed to embed: a list, or one per line; "*" for any'
    )
    success_message = serializers.CharField(required=False, allow_blank=True)
    rate_limit_per_minute = serializers.IntegerField(required=False, min_value=0)
    is_active = serializers.BooleanField(required=False)


class WebFormPatchSerializer(WebFormInputSerializer):
    slug = serializers.CharField(max_length=64, required=False)
    name = serializers.CharField(max_length=120, required=False)
    version = serializers.IntegerField(required=False, help_text="The version you read (optimistic locking)")


class WebFormOutputSerializer(serializers.ModelSerializer):
    queue: serializers.Field = serializers.SlugRelatedField(slug_field="code", read_only=True)
    consent_purposes: serializers.Field = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    fields = FormFieldSerializer(many=True, read_only=True)  # type: ignore[assignment]
    allowed_origins = serializers.SerializerMethodField()
    public_url = serializers.SerializerMethodField()
    submit_url = serializers.SerializerMethodField()
    embed_snippet = serializers.SerializerMethodField()

    class Meta:
        model = WebForm
        fields = [
            "id",
            "slug",
            "name",
            "title",
            "queue",
            "consent_purposes",
            "fields",
            "allowed_origins",
            "success_message",
            "rate_limit_per_minute",
            "is_active",
            "version",
            "public_url",
            "submit_url",
            "embed_snippet",
            "created_at",
            "updated_at",
        ]

    def _base(self) -> str:
        return public_base(self.context["request"])

    def get_allowed_origins(self, obj: WebForm) -> list[str]:
        return webform_origins(obj)

    def get_public_url(self, obj: WebForm) -> str:
        return self._base() + reverse("webform-page", args=[obj.slug])

    def get_submit_url(self, obj: WebForm) -> str:
        return self._base() + reverse("api-webform-submissions", args=[obj.slug])

    def get_embed_snippet(self, obj: WebForm) -> str:
        return embed_snippet(self._base(), obj.slug)


class WebFormListView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = WebFormOutputSerializer

    def get_queryset(self) -> Any:
        return webform_list(user=self.request.user)

    @extend_schema(summary="Web forms", responses=WebFormOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Create a web form",
        request=WebFormInputSerializer,
        responses={201: WebFormOutputSerializer, 409: OpenApiResponse(description="The slug is taken")},
    )
    def post(self, request: Request) -> Response:
        data = WebFormInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        form = webform_create(actor=request.user, **data.validated_data)
        form = webform_get(user=request.user, slug=form.slug)
        return Response(self.get_serializer(form).data, status=status.HTTP_201_CREATED)


class WebFormDetailView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = WebFormOutputSerializer

    @extend_schema(summary="A web form with its public URL and embed snippet")
    def get(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(webform_get(user=request.user, slug=slug)).data)

    @extend_schema(
        summary="Change a web form", request=WebFormPatchSerializer, responses=WebFormOutputSerializer
    )
    def patch(self, request: Request, slug: str) -> Response:
        form = webform_get(user=request.user, slug=slug)
        data = WebFormPatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        form = webform_update(actor=request.user, form=form, **data.validated_data)
        return Response(self.get_serializer(webform_get(user=request.user, slug=form.slug)).data)


# --- public: no auth, called by the embed script from other sites -------------------------------


class PublicFormView(APIView):
    """Public endpoints of one form: no auth, no CSRF, CORS for the form's allowed origins."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    cors_methods = "GET, POST, OPTIONS"

    def _form_for_cors(self) -> WebForm | None:
        if not hasattr(self, "_cors_form"):
            self._cors_form = webform_by_slug(slug=self.kwargs.get("slug", ""))
        return self._cors_form

    def _cross_origin_refused(self, request: Request) -> bool:
        """A browser on a site the admin did not allow; requests without Origin (servers, scripts) pass."""
        origin = request.headers.get("Origin", "")
        if not origin or origin_host(origin) == request.get_host().lower():
            return False
        form = self._form_for_cors()
        return form is None or not webform_origin_allowed(form, origin)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin", "")
        form = self._form_for_cors() if origin else None
        if form is not None and webform_origin_allowed(form, origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = self.cors_methods
            response["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key, Accept-Language"
            response["Access-Control-Max-Age"] = "86400"
        response["Vary"] = ", ".join(filter(None, [response.get("Vary", ""), "Origin"]))
        return response

    @extend_schema(exclude=True)
    def options(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        """CORS preflight: the headers come from finalize_response when the origin is allowed."""
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebFormPublicDefinitionView(PublicFormView):
    cors_methods = "GET, OPTIONS"

    @extend_schema(
        summary="What the embed script draws: fields, consent texts, labels (public)",
        auth=[],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="Unknown or inactive form")},
    )
    def get(self, request: Request, slug: str) -> Response:
        form = webform_public(slug=slug)
        submit_url = public_base(request) + reverse("api-webform-submissions", args=[form.slug])
        return Response(webform_definition(form, submit_url=submit_url))


SubmissionSchema = inline_serializer(
    "WebFormSubmission",
    {
        "name": serializers.CharField(required=False),
        "phone": serializers.CharField(required=False, help_text="A phone or an e-mail is required"),
        "email": serializers.CharField(required=False),
        "message": serializers.CharField(required=False),
        "consents": serializers.DictField(child=serializers.BooleanField(), help_text="{purpose code: true}"),
        "consent_versions": serializers.DictField(
            child=serializers.IntegerField(), required=False, help_text="{purpose code: text version shown}"
        ),
        **{name: serializers.CharField(required=False) for name in UTM_FIELDS},
        "page_url": serializers.CharField(required=False),
    },
)


class WebFormSubmissionView(PublicFormView):
    parser_classes = [JSONParser]
    cors_methods = "POST, OPTIONS"

    @extend_schema(
        summary="Submit a web form (public, no auth); also the form's own extra fields by name",
        auth=[],
        request=SubmissionSchema,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Send the same key when retrying: the submission is stored once",
            )
        ],
        responses={
            201: inline_serializer("SubmissionAccepted", {"status": serializers.CharField()}),
            400: OpenApiResponse(
                description="Field errors: missing consent, no phone nor e-mail, bad values"
            ),
            403: OpenApiResponse(description="Sent by a browser from a site not allowed to embed the form"),
            404: OpenApiResponse(description="Unknown or inactive form"),
            429: OpenApiResponse(description="Too many submissions from this address; see Retry-After"),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        form = webform_public(slug=slug)
        if self._cross_origin_refused(request):
            raise ApiError(
                _("This site may not send this form."),
                CommsErrorCode.ORIGIN_NOT_ALLOWED,
                status=status.HTTP_403_FORBIDDEN,
            )
        try:
            webform_submit(
                form=form,
                data=request.data,
                meta=submission_meta(
                    request._request, idempotency_key=request.headers.get("Idempotency-Key", "")
                ),
            )
        except SubmissionRateLimited as exc:
            raise ApiError(
                exc.message,
                CommsErrorCode.RATE_LIMITED,
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(exc.retry_after)},
            ) from exc
        return Response(
            {"status": "accepted", "message": webform_success_message(form)},
            status=status.HTTP_201_CREATED,
        )

"""API of personal data work: subject requests, consent withdrawal and proof, destruction,
the PD access log, breaches (CONTRACTS.md "Personal data (152-FZ)")."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from otdel.core.identity import normalize_identity
from otdel.core.net import client_ip
from otdel.crm.models import Identity
from otdel.privacy import selectors
from otdel.privacy.access import pd_access_record
from otdel.privacy.api import IsAdministrator
from otdel.privacy.destruction import contact_destroy
from otdel.privacy.models import (
    AccessAction,
    BreachIncident,
    ConsentPurpose,
    DestructionAct,
    PDAccessLog,
    SubjectRequest,
)
from otdel.privacy.services import (
    breach_create,
    breach_mark_sent,
    consent_withdraw,
    subject_request_close,
    subject_request_create,
    subject_request_extend,
)

# --- subject requests ----------------------------------------------------------------------------


class SubjectRequestInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SubjectRequest.Kind.choices)
    contact = serializers.IntegerField(required=False, allow_null=True)
    identity = serializers.CharField(
        required=False, allow_blank=True, help_text="A phone or e-mail in any format"
    )
    requester = serializers.CharField(required=False, allow_blank=True, max_length=300)
    received_at = serializers.DateTimeField(required=False)
    details = serializers.CharField(required=False, allow_blank=True)


class SubjectRequestSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = SubjectRequest
        fields = [
            "id",
            "kind",
            "contact",
            "requester",
            "received_at",
            "due_at",
            "extended",
            "extension_reason",
            "details",
            "responsible",
            "status",
            "answered_at",
            "answer",
            "overdue",
        ]

    def get_overdue(self, obj: SubjectRequest) -> bool:
        return obj.status == SubjectRequest.Status.OPEN and obj.due_at < timezone.localdate()


def _contact_by_identity(raw: str) -> Any:
    raw = raw.strip()
    kind = "email" if "@" in raw else "phone"
    try:
        value = normalize_identity(kind, raw)
    except ValidationError as exc:
        raise ValidationError({"identity": exc.messages}) from exc
    identity = Identity.objects.select_related("contact").filter(kind=kind, value=value).first()
    return identity.contact if identity else None


class SubjectRequestListView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = SubjectRequestSerializer

    @extend_schema(
        summary="Subject requests, the soonest due first",
        operation_id="subject_requests_list",
        parameters=[
            OpenApiParameter("status", str, enum=SubjectRequest.Status.values),
            OpenApiParameter("overdue", bool),
        ],
    )
    def get(self, request: Request) -> Response:
        qs = selectors.subject_request_list(
            user=request.user,
            status=request.query_params.get("status", ""),
            overdue=request.query_params.get("overdue") in ("1", "true"),
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(SubjectRequestSerializer(page, many=True).data)

    @extend_schema(
        summary="Register a subject request: due in 10 working days by the production calendar",
        request=SubjectRequestInputSerializer,
        responses={201: SubjectRequestSerializer},
    )
    def post(self, request: Request) -> Response:
        data = SubjectRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        contact = None
        if v.get("contact"):
            contact = selectors.contact_for(user=request.user, pk=v["contact"])
        elif v.get("identity"):
            contact = _contact_by_identity(v["identity"])
        obj = subject_request_create(
            actor=request.user,
            kind=v["kind"],
            received_at=v.get("received_at") or timezone.now(),
            contact=contact,
            requester=v.get("requester", "") or (v.get("identity", "") if contact is None else ""),
            details=v.get("details", ""),
        )
        return Response(SubjectRequestSerializer(obj).data, status=status.HTTP_201_CREATED)


class SubjectRequestDetailView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = SubjectRequestSerializer

    @extend_schema(summary="One subject request")
    def get(self, request: Request, pk: int) -> Response:
        obj = get_object_or_404(selectors.subject_request_list(user=request.user), pk=pk)
        return Response(SubjectRequestSerializer(obj).data)


class ExtendInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class SubjectRequestExtendView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = SubjectRequestSerializer

    @extend_schema(
        summary="Extend the deadline by 5 working days (once; the person is sent the reason)",
        request=ExtendInputSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        obj = get_object_or_404(selectors.subject_request_list(user=request.user), pk=pk)
        data = ExtendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = subject_request_extend(actor=request.user, request=obj, reason=data.validated_data["reason"])
        return Response(SubjectRequestSerializer(obj).data)


class CloseInputSerializer(serializers.Serializer):
    answer = serializers.CharField()
    refused = serializers.BooleanField(required=False, default=False)


class SubjectRequestCloseView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = SubjectRequestSerializer

    @extend_schema(summary="Record the answer and close the request", request=CloseInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        obj = get_object_or_404(selectors.subject_request_list(user=request.user), pk=pk)
        data = CloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = subject_request_close(actor=request.user, request=obj, **data.validated_data)
        return Response(SubjectRequestSerializer(obj).data)


class SubjectRequestExportView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        summary="Access answer: a ZIP of everything about the person (data.json + files)",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        obj = get_object_or_404(selectors.subject_request_list(user=request.user), pk=pk)
        if obj.contact is None:
            raise ValidationError({"contact": ["Link the request to a contact first."]})
        body = selectors.person_zip(obj.contact)
        pd_access_record(
            user=request.user,
            action=AccessAction.EXPORT,
            contact=obj.contact,
            query=f"subject-request:{obj.pk}",
            row_count=1,
            path=request.path,
            ip=client_ip(request),
        )
        response = HttpResponse(body, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="subject-request-{obj.pk}.zip"'
        return response


# --- consents --------------------------------------------------------------------------------------


class ConsentProofSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    contact = serializers.IntegerField()
    purpose = serializers.CharField()
    purpose_title = serializers.CharField()
    text_version = serializers.IntegerField()
    text = serializers.CharField()
    text_sha256 = serializers.CharField()
    given_at = serializers.DateTimeField()
    method = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    form = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    page_url = serializers.CharField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class ContactConsentsView(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ConsentProofSerializer

    @extend_schema(summary="The person's consents with their proof (text version, SHA-256, when, where from)")
    def get(self, request: Request, pk: int) -> Response:
        contact = selectors.contact_for(user=request.user, pk=pk)
        proofs = [selectors.consent_proof(c) for c in selectors.contact_consents(contact=contact)]
        return Response({"results": proofs, "next": None})


class ConsentWithdrawView(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Withdraw the person's consent for a purpose: what it covers stops on every channel",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, pk: int, code: str) -> Response:
        contact = selectors.contact_for(user=request.user, pk=pk)
        purpose = get_object_or_404(ConsentPurpose, code=code)
        count = consent_withdraw(actor=request.user, contact=contact, purpose=purpose, source="api")
        return Response({"contact": contact.pk, "purpose": purpose.code, "withdrawn": count})


# --- destruction -----------------------------------------------------------------------------------


class DestroyInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class DestructionActSerializer(serializers.ModelSerializer):
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = DestructionAct
        fields = [
            "id",
            "number",
            "subject_name",
            "destroyed_by_name",
            "categories",
            "information_system",
            "method",
            "reason",
            "destroyed_at",
            "keep_until",
            "event_log",
            "pdf_url",
        ]

    def get_pdf_url(self, obj: DestructionAct) -> str:
        return f"/api/v1/destruction-acts/{obj.pk}/pdf"


class ContactDestroyView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = DestructionActSerializer

    @extend_schema(
        summary="Destroy the person's data everywhere; returns the destruction act",
        request=DestroyInputSerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, pk: int) -> Response:
        contact = selectors.contact_for(user=request.user, pk=pk, action="change")
        data = DestroyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        act = contact_destroy(actor=request.user, contact=contact, reason=data.validated_data["reason"])
        return Response({"act": DestructionActSerializer(act).data})


class DestructionActPdfView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        summary="The destruction act as PDF", responses={(200, "application/pdf"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        act = get_object_or_404(DestructionAct, pk=pk)
        if not act.pdf:
            raise ValidationError({"__all__": ["The act has no PDF."]})
        return FileResponse(act.pdf.open("rb"), content_type="application/pdf", filename=f"{act.number}.pdf")


# --- access log ------------------------------------------------------------------------------------


class PDAccessLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = PDAccessLog
        fields = ["id", "at", "user", "user_name", "action", "contact", "query", "row_count", "path"]


class PDAccessLogView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = PDAccessLogSerializer

    @extend_schema(
        summary="Who opened, searched or exported personal data, newest first",
        operation_id="pd_access_log_list",
        parameters=[OpenApiParameter("contact", int)],
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("contact")
        if raw is not None and not raw.isdigit():
            raise ValidationError({"contact": ["Give a contact id."]})
        qs = selectors.access_log_list(user=request.user, contact=int(raw) if raw else None)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(PDAccessLogSerializer(page, many=True).data)


# --- breaches --------------------------------------------------------------------------------------


class BreachInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    found_at = serializers.DateTimeField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    affected = serializers.CharField(required=False, allow_blank=True)
    harm = serializers.CharField(required=False, allow_blank=True)
    measures = serializers.CharField(required=False, allow_blank=True)


class BreachSerializer(serializers.ModelSerializer):
    deadlines = serializers.SerializerMethodField()
    notices = serializers.SerializerMethodField()

    class Meta:
        model = BreachIncident
        fields = [
            "id",
            "title",
            "description",
            "affected",
            "harm",
            "measures",
            "found_at",
            "notice_24h_sent_at",
            "investigation",
            "culprits",
            "notice_72h_sent_at",
            "deadlines",
            "notices",
        ]

    def get_deadlines(self, obj: BreachIncident) -> dict[str, Any]:
        return selectors.breach_deadlines(obj)

    def get_notices(self, obj: BreachIncident) -> dict[str, str]:
        from otdel.privacy.notices import breach_notices

        return breach_notices(obj)


class BreachListView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = BreachSerializer

    @extend_schema(summary="Personal data breaches", operation_id="breaches_list")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(BreachIncident.objects.order_by("-found_at", "-id"))
        return self.get_paginated_response(BreachSerializer(page, many=True).data)

    @extend_schema(
        summary="Record a breach: the 24-hour and 72-hour notices of art. 21 come prefilled",
        request=BreachInputSerializer,
        responses={201: BreachSerializer},
    )
    def post(self, request: Request) -> Response:
        data = BreachInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        v.setdefault("found_at", timezone.now())
        incident = breach_create(actor=request.user, **v)
        return Response(BreachSerializer(incident).data, status=status.HTTP_201_CREATED)


class BreachNoticeInputSerializer(serializers.Serializer):
    notice = serializers.ChoiceField(choices=["24h", "72h"])


class BreachSentView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = BreachSerializer

    @extend_schema(summary="Mark a notice as sent to Roskomnadzor", request=BreachNoticeInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident = get_object_or_404(BreachIncident, pk=pk)
        data = BreachNoticeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = breach_mark_sent(
            actor=request.user, incident=incident, notice=data.validated_data["notice"]
        )
        return Response(BreachSerializer(incident).data)

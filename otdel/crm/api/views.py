"""API views of the CRM: thin viewsets that validate, call one service and serialize the result."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from otdel.accounts.permissions import signed_in
from otdel.api.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, ScopedViewSet, errors_renamed
from otdel.api.permissions import IsAdminOrReadOnly, SalesSettingsOrReadOnly
from otdel.comms.selectors import TimelineCursor, timeline_page
from otdel.core.scoping import scope
from otdel.crm import selectors, services
from otdel.crm.api.serializers import (
    CompanyInputSerializer,
    CompanySerializer,
    ContactInputSerializer,
    ContactMergeInputSerializer,
    ContactSerializer,
    CustomFieldInputSerializer,
    CustomFieldSerializer,
    CustomFieldUpdateInputSerializer,
    DealCreateInputSerializer,
    DealMoveInputSerializer,
    DealSerializer,
    DealUpdateInputSerializer,
    LeadInputSerializer,
    LeadSerializer,
    LeadTriageInputSerializer,
    LeadUpdateInputSerializer,
    LostReasonInputSerializer,
    LostReasonSerializer,
    NoteInputSerializer,
    NoteSerializer,
    PipelineInputSerializer,
    PipelineSerializer,
    PipelineUpdateInputSerializer,
    StageCreateInputSerializer,
    StageReorderInputSerializer,
    StageSerializer,
    StageUpdateInputSerializer,
    TimelineSerializer,
    contact_rows,
)
from otdel.crm.filtersets import CompanyFilterSet, ContactFilterSet, DealFilterSet, LeadFilterSet
from otdel.crm.models import Company, Contact, CustomField, Deal, Lead, LostReason, Pipeline, Stage
from otdel.crm.paging import KeysetPagination
from otdel.routing.nontarget import contact_restore_target
from otdel.routing.triage import lead_triage

WRITE_ERRORS = {400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT}
SETTINGS_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
CUSTOM_FILTER = OpenApiParameter(
    "custom__<code>",
    str,
    description=(
        "Filter by a custom field: `?custom__<code>=<value>` (a list: one option; a multi-list: records "
        "holding that option; a checkbox: true/false; a user: an id); numbers, money and dates also take "
        "`custom__<code>__gte` and `__lte`. An unknown code is a 400."
    ),
)
TIMELINE_API_PAGE = 200


def _valid(serializer_class: type, request: Request, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class NotesMixin:
    """``GET/POST <record>/{id}/notes``: the record's notes, newest first, and adding one."""

    note_subject: str

    @extend_schema(
        methods=["GET"],
        summary="Notes on the record, newest first",
        responses={200: NoteSerializer(many=True), 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a note",
        request=NoteInputSerializer,
        responses={201: NoteSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def notes(self, request: Request, pk: str) -> Response:
        subject = self.get_object()  # type: ignore[attr-defined]
        if request.method == "POST":
            data = _valid(NoteInputSerializer, request)
            note = services.note_create(
                actor=signed_in(request), body=data["body"], **{self.note_subject: subject}
            )
            return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
        notes = selectors.note_list(user=request.user, **{self.note_subject: subject})
        page = self.paginate_queryset(notes)  # type: ignore[attr-defined]
        return self.get_paginated_response(NoteSerializer(page, many=True).data)  # type: ignore[attr-defined]


# --- companies -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Companies the user may see", parameters=[CUSTOM_FILTER]),
    retrieve=extend_schema(summary="One company", responses={200: CompanySerializer, 404: NOT_FOUND}),
)
@extend_schema(tags=["companies"])
class CompanyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, NotesMixin, ScopedViewSet):
    serializer_class = CompanySerializer
    filterset_class = CompanyFilterSet
    pagination_class = KeysetPagination  # deep pages by cursor, counts capped
    note_subject = "company"

    def scoped_queryset(self) -> QuerySet[Company]:
        return selectors.company_list(user=self.request.user).order_by("name", "id")

    @extend_schema(
        summary="Create a company",
        request=CompanyInputSerializer,
        responses={201: CompanySerializer, **WRITE_ERRORS},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(CompanyInputSerializer, request)
        fields.pop("version", None)
        fields.setdefault("custom", {})  # required custom fields apply to what people create
        company = services.company_create(actor=signed_in(request), **fields)
        return Response(CompanySerializer(company).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a company; send only the fields to change",
        request=CompanyInputSerializer,
        responses={200: CompanySerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        company = self.get_object()
        fields = _valid(CompanyInputSerializer, request, partial=True)
        version = fields.pop("version", None)
        company = services.company_update(
            actor=signed_in(request), company=company, expected_version=version, **fields
        )
        return Response(CompanySerializer(company).data)


# --- contacts --------------------------------------------------------------------------------


def _contact_out(contact: Contact) -> dict[str, Any]:
    fresh = Contact.objects.select_related("company", "responsible").prefetch_related("identities")
    return ContactSerializer(fresh.get(pk=contact.pk)).data


@extend_schema_view(
    list=extend_schema(
        summary="Contacts the user may see; ?identity= finds one by phone or e-mail in any format",
        parameters=[CUSTOM_FILTER],
    ),
    retrieve=extend_schema(
        summary="One contact (a merged one too: follow merged_into)",
        responses={200: ContactSerializer, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["contacts"])
class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, NotesMixin, ScopedViewSet):
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    pagination_class = KeysetPagination  # deep pages by cursor, counts capped
    note_subject = "contact"

    def scoped_queryset(self) -> QuerySet[Contact]:
        user = self.request.user
        if self.action == "retrieve":
            # A merged contact stays readable, so an old link held by a script can follow merged_into.
            return scope(
                Contact.objects.select_related("company", "responsible").prefetch_related("identities"), user
            )
        return selectors.contact_list(user=user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Plain rows (ContactSerializer's shape) from two queries: a page of a search or a long list
        # costs the ranking query, not model instances and DRF's per-field work for 50 rows.
        queryset = self.filter_queryset(self.get_queryset())
        paginator = self.paginator
        assert isinstance(paginator, KeysetPagination)
        rows = paginator.paginate_queryset(
            queryset, request, view=self, load=lambda ids: contact_rows(ids, request=request)
        )
        return paginator.get_paginated_response(rows)

    @extend_schema(
        summary="Create a contact with its phones, e-mails and chats",
        request=ContactInputSerializer,
        responses={201: ContactSerializer, **WRITE_ERRORS},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(ContactInputSerializer, request)
        fields.pop("version", None)
        fields.setdefault("custom", {})
        contact = services.contact_create(
            actor=signed_in(request),
            full_name=fields.pop("full_name"),
            identities=fields.pop("identities", []),
            **fields,
        )
        return Response(_contact_out(contact), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a contact; send only the fields to change",
        request=ContactInputSerializer,
        responses={200: ContactSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        contact = self.get_object()
        fields = _valid(ContactInputSerializer, request, partial=True)
        version = fields.pop("version", None)
        contact = services.contact_update(
            actor=signed_in(request), contact=contact, expected_version=version, **fields
        )
        return Response(_contact_out(contact))

    @extend_schema(
        summary="Merge this contact into another one (this one stays as a pointer to it)",
        request=ContactMergeInputSerializer,
        responses={200: ContactSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def merge(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        data = _valid(ContactMergeInputSerializer, request)
        with errors_renamed({"target": "into"}):
            target = services.contact_merge(actor=signed_in(request), source=source, target=data["into"])
        return Response(_contact_out(target))

    @extend_schema(
        summary="The contact's timeline: calls, e-mails, messages, forms, notes, tasks, leads; newest first",
        parameters=[
            OpenApiParameter(
                "before",
                str,
                description="Where the previous page ended: take it from that page's `next` link",
            )
        ],
        responses={200: TimelineSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def timeline(self, request: Request, pk: str) -> Response:
        contact = self.get_object()
        before = None
        if raw := request.query_params.get("before"):
            try:
                before = TimelineCursor.decode(raw)
            except ValueError:
                raise ValidationError(
                    {"before": [_("Not a timeline position; use the `next` link.")]}
                ) from None
        items, after = timeline_page(
            user=request.user, contact=contact, before=before, limit=TIMELINE_API_PAGE, with_leads=True
        )
        rows = [item.as_dict() for item in items]
        next_url = None
        if after is not None:
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode({'before': after.encode()})}")
        return Response(TimelineSerializer({"results": rows, "next": next_url}).data)

    @extend_schema(
        summary="Undo non-target: the contact's traffic reaches sales again",
        request=None,
        responses={200: ContactSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="restore-target", filter_backends=[])
    def restore_target(self, request: Request, pk: str) -> Response:
        contact = contact_restore_target(actor=signed_in(request), contact=self.get_object())
        return Response(_contact_out(contact))


# --- leads -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Leads the user may see; ?contact= for one contact's", parameters=[CUSTOM_FILTER]
    ),
    retrieve=extend_schema(summary="One lead", responses={200: LeadSerializer, 404: NOT_FOUND}),
)
@extend_schema(tags=["leads"])
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    pagination_class = KeysetPagination  # deep pages by cursor, counts capped

    def scoped_queryset(self) -> QuerySet[Lead]:
        return selectors.lead_list(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="Register a lead by hand",
        request=LeadInputSerializer,
        responses={201: LeadSerializer, 400: BAD_REQUEST},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(LeadInputSerializer, request)
        fields.setdefault("custom", {})
        lead = services.lead_create(
            actor=signed_in(request),
            contact=fields.pop("contact"),
            source=fields.pop("source"),
            channel=fields.pop("channel"),
            **fields,
        )
        return Response(LeadSerializer(lead).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a lead's custom fields",
        request=LeadUpdateInputSerializer,
        responses={200: LeadSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        fields = _valid(LeadUpdateInputSerializer, request, partial=True)
        lead = services.custom_values_update(
            actor=signed_in(request),
            record=lead,
            custom=fields.get("custom") or {},
            expected_version=fields.get("version"),
        )
        return Response(LeadSerializer(lead).data)

    @extend_schema(
        summary="Triage: qualified (opens a deal), non_target (marks the contact), duplicate (merges)",
        request=LeadTriageInputSerializer,
        responses={200: LeadSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def triage(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        fields = _valid(LeadTriageInputSerializer, request)
        lead = lead_triage(
            actor=signed_in(request),
            lead=lead,
            verdict=fields.pop("verdict"),
            reason=fields.pop("reason", ""),
            **{name: value for name, value in fields.items() if value not in (None, "")},
        )
        return Response(LeadSerializer(lead).data)


# --- deals -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Deals the user may see, newest first", parameters=[CUSTOM_FILTER]),
    retrieve=extend_schema(summary="One deal", responses={200: DealSerializer, 404: NOT_FOUND}),
)
@extend_schema(tags=["deals"])
class DealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, NotesMixin, ScopedViewSet):
    serializer_class = DealSerializer
    filterset_class = DealFilterSet
    pagination_class = KeysetPagination  # deep pages by cursor, counts capped
    note_subject = "deal"

    def scoped_queryset(self) -> QuerySet[Deal]:
        return selectors.deal_list(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="Create a deal",
        request=DealCreateInputSerializer,
        responses={201: DealSerializer, 400: BAD_REQUEST},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(DealCreateInputSerializer, request)
        fields.setdefault("custom", {})
        deal = services.deal_create(actor=signed_in(request), title=fields.pop("title"), **fields)
        return Response(DealSerializer(deal).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a deal; send only the fields to change",
        request=DealUpdateInputSerializer,
        responses={200: DealSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        fields = _valid(DealUpdateInputSerializer, request, partial=True)
        version = fields.pop("version", None)
        deal = services.deal_update(actor=signed_in(request), deal=deal, expected_version=version, **fields)
        return Response(DealSerializer(deal).data)

    @extend_schema(
        summary="Move the deal to another stage of its pipeline (a lost stage needs lost_reason)",
        request=DealMoveInputSerializer,
        responses={200: DealSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def move(self, request: Request, pk: str) -> Response:
        deal = self.get_object()
        fields = _valid(DealMoveInputSerializer, request)
        deal = services.deal_move(
            actor=signed_in(request),
            deal=deal,
            stage=fields["stage"],
            lost_reason=fields.get("lost_reason"),
            lost_comment=fields.get("lost_comment", ""),
            before=fields.get("before"),
            expected_version=fields.get("version"),
        )
        return Response(DealSerializer(deal).data)


# --- pipelines and lost reasons ----------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Pipelines with their stages in board order"),
    retrieve=extend_schema(summary="One pipeline", responses={200: PipelineSerializer, 404: NOT_FOUND}),
)
@extend_schema(tags=["pipelines"])
class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = PipelineSerializer
    permission_classes = [SalesSettingsOrReadOnly]
    filterset_fields = ["is_active"]

    def scoped_queryset(self) -> QuerySet[Pipeline]:
        return scope(Pipeline.objects.prefetch_related("stages"), self.request.user)

    @extend_schema(
        summary="Create a pipeline with its stages (administrators)",
        request=PipelineInputSerializer,
        responses={201: PipelineSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(PipelineInputSerializer, request)
        pipeline = services.pipeline_create(actor=signed_in(request), **fields)
        return Response(_pipeline_out(pipeline), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename, reorder, make default or switch off a pipeline (administrators, head of sales)",
        request=PipelineUpdateInputSerializer,
        responses={200: PipelineSerializer, **SETTINGS_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        fields = _valid(PipelineUpdateInputSerializer, request, partial=True)
        pipeline = services.pipeline_update(actor=signed_in(request), pipeline=pipeline, **fields)
        return Response(_pipeline_out(pipeline))

    @extend_schema(
        summary="Add a stage to the pipeline (administrators, head of sales)",
        request=StageCreateInputSerializer,
        responses={201: StageSerializer, **SETTINGS_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def stages(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        fields = _valid(StageCreateInputSerializer, request)
        stage = services.stage_create(actor=signed_in(request), pipeline=pipeline, **fields)
        return Response(StageSerializer(stage).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Put the pipeline's stages in a new order (every stage id once)",
        request=StageReorderInputSerializer,
        responses={200: PipelineSerializer, **SETTINGS_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reorder(self, request: Request, pk: str) -> Response:
        pipeline = self.get_object()
        fields = _valid(StageReorderInputSerializer, request)
        services.stages_reorder(actor=signed_in(request), pipeline=pipeline, stage_ids=fields["stages"])
        return Response(_pipeline_out(pipeline))


def _pipeline_out(pipeline: Pipeline) -> dict[str, Any]:
    return PipelineSerializer(Pipeline.objects.prefetch_related("stages").get(pk=pipeline.pk)).data


@extend_schema_view(
    retrieve=extend_schema(summary="One stage", responses={200: StageSerializer, 404: NOT_FOUND})
)
@extend_schema(tags=["pipelines"])
class StageViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = StageSerializer
    permission_classes = [SalesSettingsOrReadOnly]

    def scoped_queryset(self) -> QuerySet[Stage]:
        return scope(Stage.objects.select_related("pipeline"), self.request.user)

    @extend_schema(
        summary="Rename, recolour, change the kind of, or move a stage (administrators, head of sales)",
        request=StageUpdateInputSerializer,
        responses={200: StageSerializer, **SETTINGS_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        stage = self.get_object()
        fields = _valid(StageUpdateInputSerializer, request, partial=True)
        stage = services.stage_update(actor=signed_in(request), stage=stage, **fields)
        return Response(StageSerializer(stage).data)

    @extend_schema(
        summary="Delete a stage; its deals move to ?move_to= first (409 without it when deals are there)",
        parameters=[OpenApiParameter("move_to", int, description="A stage of the same pipeline and kind")],
        request=None,
        responses={204: None, **SETTINGS_ERRORS},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        stage = self.get_object()
        move_to = None
        if raw := request.query_params.get("move_to") or "":
            move_to = Stage.objects.filter(pk=int(raw) if raw.isdigit() else 0).first()
            if move_to is None:
                raise ValidationError({"move_to": [_("There is no such stage.")]})
        services.stage_delete(actor=signed_in(request), stage=stage, move_to=move_to)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- custom fields -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Custom fields of deals, contacts, companies and leads; ?entity= for one kind"
    ),
    retrieve=extend_schema(
        summary="One custom field", responses={200: CustomFieldSerializer, 404: NOT_FOUND}
    ),
)
@extend_schema(tags=["custom fields"])
class CustomFieldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = CustomFieldSerializer
    permission_classes = [SalesSettingsOrReadOnly]
    filterset_fields = ["entity", "is_active"]

    def scoped_queryset(self) -> QuerySet[CustomField]:
        return scope(CustomField.objects.all(), self.request.user)

    @extend_schema(
        summary="Define a custom field (administrators, head of sales)",
        request=CustomFieldInputSerializer,
        responses={201: CustomFieldSerializer, **SETTINGS_ERRORS},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(CustomFieldInputSerializer, request)
        field = services.custom_field_create(actor=signed_in(request), **fields)
        return Response(CustomFieldSerializer(field).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a custom field's name, options, required, list column, order; is_active=false hides it",
        request=CustomFieldUpdateInputSerializer,
        responses={200: CustomFieldSerializer, **SETTINGS_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        field = self.get_object()
        fields = _valid(CustomFieldUpdateInputSerializer, request, partial=True)
        field = services.custom_field_update(actor=signed_in(request), field=field, **fields)
        return Response(CustomFieldSerializer(field).data)

    @extend_schema(
        summary="Delete a custom field no record has a value of (else 409: switch it off instead)",
        request=None,
        responses={204: None, **SETTINGS_ERRORS},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        services.custom_field_delete(actor=signed_in(request), field=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(summary="Reasons a deal can be lost"))
@extend_schema(tags=["pipelines"])
class LostReasonViewSet(mixins.ListModelMixin, ScopedViewSet):
    serializer_class = LostReasonSerializer
    permission_classes = [IsAdminOrReadOnly]
    filterset_fields = ["is_active"]

    def scoped_queryset(self) -> QuerySet[LostReason]:
        return scope(LostReason.objects.all(), self.request.user)

    @extend_schema(
        summary="Add a lost reason (administrators)",
        request=LostReasonInputSerializer,
        responses={201: LostReasonSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        fields = _valid(LostReasonInputSerializer, request)
        reason = services.lost_reason_create(actor=signed_in(request), **fields)
        return Response(LostReasonSerializer(reason).data, status=status.HTTP_201_CREATED)

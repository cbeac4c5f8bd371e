"""API of approvals and department requests (CONTRACTS.md, "Approvals and departments")."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.accounts.models import Department
from otdel.api.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND
from otdel.approvals import selectors, services
from otdel.approvals.api.serializers import (
    ApprovalSerializer,
    DecisionInputSerializer,
    RequestInputSerializer,
    RequestSerializer,
    RequestStatusInputSerializer,
    RouteInputSerializer,
    RouteSerializer,
    StartInputSerializer,
)
from otdel.approvals.errors import ApprovalErrorCode as Code
from otdel.approvals.models import Approval, ApprovalRoute, DepartmentRequest
from otdel.core.exceptions import ApiError
from otdel.core.scoping import get_scoped_or_404
from otdel.crm.models import Deal
from otdel.documents.models import Document

WRITE_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


def _valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _forbidden(message: str) -> ApiError:
    return ApiError({"__all__": [message]}, Code.FORBIDDEN, status=403)


def _approval_out(approval: Approval) -> dict[str, Any]:
    return dict(ApprovalSerializer(selectors.approval_detail(approval)).data)


@extend_schema(tags=["approvals"])
class RouteListView(APIView):
    @extend_schema(summary="Approval routes", responses={200: RouteSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(RouteSerializer(selectors.route_list(user=request.user), many=True).data)

    @extend_schema(
        summary="Create a route: document kinds and ordered steps (administrators, head of sales)",
        request=RouteInputSerializer,
        responses={201: RouteSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        if not selectors.may_edit_routes(request.user):
            raise _forbidden(_("Only administrators and the head of sales edit approval routes."))
        fields = _valid(RouteInputSerializer, request)
        route = services.route_save(actor=request.user, **fields)
        return Response(RouteSerializer(route).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["approvals"])
class RouteDetailView(APIView):
    @extend_schema(summary="One route", responses={200: RouteSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        route = get_scoped_or_404(ApprovalRoute.objects.all(), request.user, pk=pk)
        return Response(RouteSerializer(route).data)

    @extend_schema(
        summary="Replace a route (running rounds keep their copy)",
        request=RouteInputSerializer,
        responses={200: RouteSerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request, pk: int) -> Response:
        route = get_scoped_or_404(ApprovalRoute.objects.all(), request.user, pk=pk)
        if not selectors.may_edit_routes(request.user):
            raise _forbidden(_("Only administrators and the head of sales edit approval routes."))
        fields = _valid(RouteInputSerializer, request)
        route = services.route_save(actor=request.user, route=route, **fields)
        return Response(RouteSerializer(route).data)


@extend_schema(tags=["approvals"])
class DocumentApprovalView(APIView):
    @extend_schema(
        summary="Every round of the document's approval", responses={200: ApprovalSerializer(many=True)}
    )
    def get(self, request: Request, pk: int) -> Response:
        document = get_scoped_or_404(Document.objects.all(), request.user, pk=pk)
        rounds = selectors.approval_list(user=request.user).filter(document=document).order_by("round")
        return Response([_approval_out(a) for a in rounds])

    @extend_schema(
        summary="Send the document for approval by a route; it is locked until the route ends",
        request=StartInputSerializer,
        responses={201: ApprovalSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        document = get_scoped_or_404(Document.objects.select_related("deal"), request.user, "change", pk=pk)
        fields = _valid(StartInputSerializer, request)
        route = ApprovalRoute.objects.filter(pk=fields["route"]).first()
        if route is None:
            raise ApiError(
                {"route": [_("There is no route with the id %(id)s.") % {"id": fields["route"]}]},
                Code.UNKNOWN,
            )
        approval = services.approval_start(actor=request.user, document=document, route=route)
        return Response(_approval_out(approval), status=status.HTTP_201_CREATED)


@extend_schema(tags=["approvals"])
class ApprovalListView(APIView):
    @extend_schema(
        summary="Approvals the user sees; ?awaiting=me: those waiting for the user's decision",
        parameters=[OpenApiParameter("awaiting", str, enum=["me"]), OpenApiParameter("document", int)],
        responses={200: ApprovalSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        rows = selectors.approval_list(user=request.user)
        if params.get("awaiting") == "me":
            rows = rows.filter(pk__in=selectors.awaiting(user=request.user).values("stage__approval_id"))
        if (params.get("document") or "").isdigit():
            rows = rows.filter(document_id=int(params["document"]))
        return Response([_approval_out(a) for a in rows.order_by("-created_at", "-id")[:200]])


@extend_schema(tags=["approvals"])
class ApprovalDetailView(APIView):
    @extend_schema(summary="One round: steps, decisions", responses={200: ApprovalSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        approval = get_scoped_or_404(Approval.objects.all(), request.user, pk=pk)
        return Response(_approval_out(approval))


@extend_schema(tags=["approvals"])
class DecisionView(APIView):
    @extend_schema(
        summary="Approve, reject or send for rework (reject and rework need a comment)",
        request=DecisionInputSerializer,
        responses={200: ApprovalSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        approval = get_scoped_or_404(Approval.objects.all(), request.user, pk=pk)
        fields = _valid(DecisionInputSerializer, request)
        approval = services.approval_decide(actor=request.user, approval=approval, **fields)
        return Response(_approval_out(approval))


@extend_schema(tags=["approvals"])
class CancelView(APIView):
    @extend_schema(
        summary="Withdraw a running approval",
        request=None,
        responses={200: ApprovalSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        approval = get_scoped_or_404(Approval.objects.all(), request.user, pk=pk)
        get_scoped_or_404(Document.objects.all(), request.user, "change", pk=approval.document_id)
        return Response(_approval_out(services.approval_cancel(actor=request.user, approval=approval)))


@extend_schema(tags=["departments"])
class RequestListView(APIView):
    @extend_schema(
        summary="Department requests the user sees",
        parameters=[
            OpenApiParameter("department", int),
            OpenApiParameter("deal", int),
            OpenApiParameter("status", str),
        ],
        responses={200: RequestSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.request_list(user=request.user)
        for name in ("department", "deal"):
            if (request.query_params.get(name) or "").isdigit():
                rows = rows.filter(**{f"{name}_id": int(request.query_params[name])})
        if request.query_params.get("status"):
            rows = rows.filter(status=request.query_params["status"])
        return Response(RequestSerializer(rows[:500], many=True).data)

    @extend_schema(
        summary="A request from a deal to a department (JSON, or multipart with files in `attachments`)",
        request=RequestInputSerializer,
        responses={201: RequestSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        fields = _valid(RequestInputSerializer, request)
        deal = Deal.objects.filter(pk=fields.pop("deal")).first()
        if deal is None or not _sees(request.user, deal):
            raise ApiError({"deal": [_("There is no such deal.")]}, Code.UNKNOWN)
        department = Department.objects.filter(pk=fields.pop("department")).first()
        if department is None:
            raise ApiError({"department": [_("There is no such department.")]}, Code.UNKNOWN)
        files = [
            (f.name or "file", f.read(), f.content_type or "") for f in request.FILES.getlist("attachments")
        ]
        row = services.request_create(
            actor=request.user, deal=deal, department=department, attachments=files, **fields
        )
        return Response(RequestSerializer(row).data, status=status.HTTP_201_CREATED)


def _sees(user: Any, deal: Deal) -> bool:
    from otdel.core.scoping import scope

    return scope(Deal.objects.filter(pk=deal.pk), user).exists()


@extend_schema(tags=["departments"])
class RequestDetailView(APIView):
    @extend_schema(summary="One department request", responses={200: RequestSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        row = get_scoped_or_404(DepartmentRequest.objects.all(), request.user, pk=pk)
        return Response(RequestSerializer(row).data)


@extend_schema(tags=["departments"])
class RequestStatusView(APIView):
    @extend_schema(
        summary="Take, finish or decline a request (a decline needs a comment)",
        request=RequestStatusInputSerializer,
        responses={200: RequestSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        row = get_object_or_404(selectors.request_list(user=request.user), pk=pk)
        fields = _valid(RequestStatusInputSerializer, request)
        row = services.request_set_status(actor=request.user, request=row, **fields)
        return Response(RequestSerializer(row).data)

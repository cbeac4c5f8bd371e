"""Thin API views: upload an import, read its status, start, cancel, undo; export a list."""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.api.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND
from otdel.transfer import export, selectors, services
from otdel.transfer.api.serializers import (
    ExportSerializer,
    ImportInputSerializer,
    ImportSerializer,
    ImportStartInputSerializer,
)
from otdel.transfer.models import ExportLog


def _job(request: Request, pk: int) -> Any:
    return get_object_or_404(selectors.import_list(user=request.user), pk=pk)


class ImportListView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        responses={201: ImportSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 413: BAD_REQUEST},
        summary="Upload a CSV/XLSX file to import (queued at once)",
    )
    def post(self, request: Request) -> Response:
        from django.core.exceptions import ValidationError

        if not services.may_import(request.user):  # refused before the upload is even read
            raise PermissionDenied(_("Only an administrator or the head of sales may import."))
        serializer = ImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            job = services.import_create(
                actor=request.user,
                upload=data["file"],
                kind=data["kind"],
                mapping=data.get("mapping"),
                dry_run=data["dry_run"],
                dedupe=data["dedupe"],
                skip_invalid=data["skip_invalid"],
                pipeline=data.get("pipeline"),
                start=True,
            )
        except ValidationError as exc:
            codes = [e.code for errs in getattr(exc, "error_dict", {}).values() for e in errs]
            if "too_large" in codes or "xlsx_too_large" in codes:
                return Response(
                    {"errors": {"file": exc.messages}, "code": "too_large"},
                    status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                )
            raise
        job.refresh_from_db()
        return Response({"id": job.pk, "status": job.status}, status=status.HTTP_201_CREATED)


class ImportDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ImportSerializer, 404: NOT_FOUND}, summary="An import's status and counts")
    def get(self, request: Request, pk: int) -> Response:
        return Response(ImportSerializer(_job(request, pk)).data)


class ImportStartView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ImportStartInputSerializer,
        responses={200: ImportSerializer, 409: CONFLICT},
        summary="Run a finished dry run for real (as a new import)",
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = ImportStartInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.import_start(
            actor=request.user, job=_job(request, pk), dry_run=serializer.validated_data["dry_run"]
        )
        job.refresh_from_db()
        return Response(ImportSerializer(job).data)


class ImportCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None, responses={200: ImportSerializer, 409: CONFLICT}, summary="Cancel a running import"
    )
    def post(self, request: Request, pk: int) -> Response:
        job = services.import_cancel(actor=request.user, job=_job(request, pk))
        return Response(ImportSerializer(job).data)


class ImportUndoView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: ImportSerializer, 409: CONFLICT},
        summary="Undo an import (within 7 days)",
    )
    def post(self, request: Request, pk: int) -> Response:
        job = _job(request, pk)
        services.import_undo(actor=request.user, job=job)
        job.refresh_from_db()
        return Response(ImportSerializer(job).data)


class ImportReportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes},
        summary="The file with the result and the error of each row, as XLSX",
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        return report_response(_job(request, pk))


def report_response(job: Any) -> FileResponse:
    if not job.file:  # removed after the undo period (it held personal data)
        from django.http import Http404

        raise Http404
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115  (closed by FileResponse)
    selectors.report_xlsx(job, tmp.name)
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=f"import-{job.pk}-report.xlsx")


def export_response(request: Any, kind: str, file_format: str, params: Any) -> HttpResponseBase | None:
    """Small exports stream straight back; large ones are queued (returns None then, with the log)."""
    filters = export.clean_filters(params)
    queryset = export.export_queryset(kind, request.user, filters)
    count = queryset.count()
    if count > export.SYNC_LIMIT:
        return None
    services.export_log_create(
        actor=request.user,
        kind=kind,
        file_format=file_format,
        filters=filters,
        rows=count,
        status=ExportLog.Status.DONE,
    )
    name = export.file_name(kind, file_format)
    if file_format == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            export.csv_stream(export.rows(kind, queryset)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115
    export.write_xlsx(export.rows(kind, queryset), tmp.name, str(export.SPECS[kind].title))
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=name)


def export_queue(request: Any, kind: str, file_format: str, params: Any) -> ExportLog:
    from django.db import transaction

    from otdel.transfer.tasks import export_run_task

    log = services.export_log_create(
        actor=request.user,
        kind=kind,
        file_format=file_format,
        filters=export.clean_filters(params),
        rows=None,
        status=ExportLog.Status.QUEUED,
    )
    transaction.on_commit(lambda: export_run_task.enqueue(log.pk))
    return log


class ExportView(APIView):
    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # ``?format=csv|xlsx`` names the file format here, not a DRF renderer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="exports_download",
        parameters=[OpenApiParameter("format", str, enum=["csv", "xlsx"])],
        responses={200: bytes, 202: ExportSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        summary="Export a list (contacts, companies, deals, leads, tasks) with the list's filters",
    )
    def get(self, request: Request, kind: str) -> HttpResponseBase:
        if kind not in export.SPECS:
            raise NotFound()
        file_format = request.query_params.get("format", "csv")
        if file_format not in export.FORMATS:
            raise ParseError({"format": ["csv or xlsx"]})
        response = export_response(request, kind, file_format, request.query_params)
        if response is not None:
            return response
        log = export_queue(request, kind, file_format, request.query_params)
        log.refresh_from_db()
        return Response(ExportSerializer(log).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="exports_status",
        responses={200: ExportSerializer, 404: NOT_FOUND},
        summary="A background export's status",
    )
    def get(self, request: Request, kind: str, pk: int) -> Response:
        log = get_object_or_404(selectors.export_list(user=request.user), pk=pk, kind=kind)
        return Response(ExportSerializer(log).data)

"""API views of the documents app: thin, each validates, calls one service and serializes."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from otdel.api.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND
from otdel.api.permissions import IsAdminOrReadOnly
from otdel.core.scoping import get_scoped_or_404
from otdel.crm.models import Deal
from otdel.documents import selectors, services
from otdel.documents.api import serializers as s
from otdel.documents.context import reference
from otdel.documents.models import Document, DocumentTemplate, LegalEntity, Product

WRITE_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


def _valid(serializer_class: type, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CatalogPermission(BasePermission):
    """Everyone signed in reads the catalog; administrators and heads of sales keep it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or bool(
            getattr(user, "is_admin", False) or getattr(user, "is_head_of_sales", False)
        )


# --- catalog --------------------------------------------------------------------------------------


class ProductListView(GenericAPIView):
    permission_classes = [CatalogPermission]
    serializer_class = s.ProductSerializer

    @extend_schema(
        tags=["catalog"],
        operation_id="products_list",
        summary="Products and services; ?q= searches SKU and name, ?active=1 only active ones",
        parameters=[OpenApiParameter("q", str), OpenApiParameter("active", bool)],
    )
    def get(self, request: Request) -> Response:
        products = selectors.product_list(
            user=request.user,
            q=request.query_params.get("q", ""),
            active_only=request.query_params.get("active") in ("1", "true"),
        )
        page = self.paginate_queryset(products)
        return self.get_paginated_response(s.ProductSerializer(page, many=True).data)

    @extend_schema(
        tags=["catalog"],
        summary="Add a product",
        request=s.ProductInputSerializer,
        responses={201: s.ProductSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.ProductInputSerializer, request)
        data.pop("version", None)
        product = services.product_create(actor=request.user, **data)
        return Response(s.ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(GenericAPIView):
    permission_classes = [CatalogPermission]
    serializer_class = s.ProductSerializer

    @extend_schema(
        tags=["catalog"], summary="One product", responses={200: s.ProductSerializer, 404: NOT_FOUND}
    )
    def get(self, request: Request, pk: int) -> Response:
        product = get_scoped_or_404(Product.objects.all(), request.user, pk=pk)
        return Response(s.ProductSerializer(product).data)

    @extend_schema(
        tags=["catalog"],
        summary="Change a product; send only the fields to change",
        request=s.ProductInputSerializer,
        responses={200: s.ProductSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, pk: int) -> Response:
        product = get_scoped_or_404(Product.objects.all(), request.user, "change", pk=pk)
        data = _valid(s.ProductInputSerializer, request, partial=True)
        version = data.pop("version", None)
        product = services.product_update(
            actor=request.user, product=product, expected_version=version, **data
        )
        return Response(s.ProductSerializer(product).data)


# --- deal line items ------------------------------------------------------------------------------


def _items_out(deal: Deal, user: Any) -> dict[str, Any]:
    items = list(selectors.deal_items(user=user, deal=deal))
    totals = services.items_totals(items)
    deal.refresh_from_db(fields=["version", "amount"])
    return s.DealItemsSerializer(
        {"items": items, "totals": totals, "deal_version": deal.version, "amount": deal.amount}
    ).data


class DealItemsView(GenericAPIView):
    serializer_class = s.DealItemsSerializer

    @extend_schema(
        tags=["deals"],
        summary="The deal's line items and totals",
        responses={200: s.DealItemsSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        deal = get_scoped_or_404(Deal.objects.all(), request.user, pk=pk)
        return Response(_items_out(deal, request.user))

    @extend_schema(
        tags=["deals"],
        summary="Replace the deal's line items; the deal's amount becomes the gross total",
        description="Prices include VAT. Send the deal's `version` to be protected from a concurrent edit (409).",
        request=s.DealItemsInputSerializer,
        responses={200: s.DealItemsSerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request, pk: int) -> Response:
        deal = get_scoped_or_404(Deal.objects.all(), request.user, "change", pk=pk)
        data = _valid(s.DealItemsInputSerializer, request)
        services.deal_items_set(
            actor=request.user, deal=deal, items=data["items"], expected_version=data.get("version")
        )
        return Response(_items_out(deal, request.user))


# --- our legal entities ------------------------------------------------------------------------------


class MyCompanyView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = s.LegalEntitySerializer

    @extend_schema(
        tags=["requisites"],
        summary="Our default legal entity",
        responses={200: s.LegalEntitySerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        entity = selectors.legal_entity_default()
        if entity is None:
            raise Http404
        return Response(s.LegalEntitySerializer(entity).data)

    @extend_schema(
        tags=["requisites"],
        summary="Set our default legal entity's requisites (INN, OGRN, BIK, accounts checked)",
        request=s.LegalEntityInputSerializer,
        responses={200: s.LegalEntitySerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request) -> Response:
        data = _valid(s.LegalEntityInputSerializer, request)
        version = data.pop("version", None)
        entity = services.my_company_set(actor=request.user, expected_version=version, **data)
        return Response(s.LegalEntitySerializer(entity).data)


class LegalEntityListView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = s.LegalEntitySerializer

    @extend_schema(tags=["requisites"], summary="Our legal entities")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.legal_entity_list(user=request.user))
        return self.get_paginated_response(s.LegalEntitySerializer(page, many=True).data)

    @extend_schema(
        tags=["requisites"],
        summary="Add a legal entity",
        request=s.LegalEntityInputSerializer,
        responses={201: s.LegalEntitySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.LegalEntityInputSerializer, request)
        data.pop("version", None)
        entity = services.legal_entity_save(actor=request.user, **data)
        return Response(s.LegalEntitySerializer(entity).data, status=status.HTTP_201_CREATED)


class LegalEntityDetailView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = s.LegalEntitySerializer

    @extend_schema(
        tags=["requisites"],
        summary="Change a legal entity",
        request=s.LegalEntityInputSerializer,
        responses={200: s.LegalEntitySerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, pk: int) -> Response:
        entity = get_object_or_404(LegalEntity, pk=pk)
        data = _valid(s.LegalEntityInputSerializer, request, partial=True)
        version = data.pop("version", None)
        entity = services.legal_entity_save(
            actor=request.user, entity=entity, expected_version=version, **data
        )
        return Response(s.LegalEntitySerializer(entity).data)


# --- numbering and templates -------------------------------------------------------------------------


class NumberingListView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = s.NumberingSerializer

    @extend_schema(tags=["documents"], summary="Numbering sequences")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.numbering_list(user=request.user))
        return self.get_paginated_response(s.NumberingSerializer(page, many=True).data)

    @extend_schema(
        tags=["documents"],
        summary="Add a numbering sequence",
        request=s.NumberingInputSerializer,
        responses={201: s.NumberingSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.NumberingInputSerializer, request)
        sequence = services.numbering_create(actor=request.user, **data)
        return Response(s.NumberingSerializer(sequence).data, status=status.HTTP_201_CREATED)


class TemplateListView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    serializer_class = s.TemplateSerializer

    @extend_schema(tags=["documents"], summary="Document templates (active ones)")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.template_list(user=request.user))
        return self.get_paginated_response(s.TemplateSerializer(page, many=True).data)

    @extend_schema(
        tags=["documents"],
        summary="Upload a DOCX template; it is checked by rendering it against a sample deal",
        request={"multipart/form-data": s.TemplateInputSerializer},
        responses={
            201: s.TemplateSerializer,
            **WRITE_ERRORS,
            413: OpenApiResponse(description="File too large"),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.TemplateInputSerializer, request)
        upload = data["file"]
        if upload.size > 10 * 1024 * 1024:
            return Response(
                {"errors": {"file": ["The file is too large for a template."]}, "code": "too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        template = services.template_create(
            actor=request.user,
            data=upload.read(),
            filename=upload.name,
            name=data["name"],
            kind=data["kind"],
            numbering=data.get("numbering"),
        )
        return Response(s.TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = s.TemplateSerializer

    def _template(self, request: Request, pk: int) -> DocumentTemplate:
        return get_scoped_or_404(DocumentTemplate.objects.all(), request.user, pk=pk)

    @extend_schema(
        tags=["documents"], summary="One template (active or not)", operation_id="document_template_get"
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.TemplateSerializer(self._template(request, pk)).data)

    @extend_schema(
        tags=["documents"],
        summary="Switch a template on or off (an inactive one is not offered for new documents)",
        request=s.TemplatePatchSerializer,
        responses={200: s.TemplateSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, pk: int) -> Response:
        template = self._template(request, pk)
        data = _valid(s.TemplatePatchSerializer, request)
        template = services.template_set_active(
            actor=request.user, template=template, active=data["is_active"]
        )
        return Response(s.TemplateSerializer(template).data)


class TemplateFileView(GenericAPIView):
    permission_classes = [IsAdminOrReadOnly]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = s.TemplateFileSerializer

    @extend_schema(
        tags=["documents"],
        summary="Upload a new version of a template's DOCX (checked like an upload; revision + 1)",
        request={"multipart/form-data": s.TemplateFileSerializer},
        responses={200: s.TemplateSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        template = get_scoped_or_404(DocumentTemplate.objects.all(), request.user, pk=pk)
        upload = _valid(s.TemplateFileSerializer, request)["file"]
        template = services.template_new_version(
            actor=request.user, template=template, data=upload.read(), filename=upload.name
        )
        return Response(s.TemplateSerializer(template).data)


class TemplateReferenceView(GenericAPIView):
    serializer_class = s.ReferenceRowSerializer
    queryset = DocumentTemplate.objects.none()

    @extend_schema(
        tags=["documents"],
        summary="Every variable a template may use, with an example",
        responses={200: s.ReferenceRowSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = [{"variable": v, "description": d, "example": e} for v, d, e in reference()]
        return Response({"results": rows, "next": None})


# --- documents -----------------------------------------------------------------------------------------


class DealDocumentsView(GenericAPIView):
    serializer_class = s.DocumentSerializer

    @extend_schema(tags=["documents"], summary="The deal's documents, newest first")
    def get(self, request: Request, pk: int) -> Response:
        deal = get_scoped_or_404(Deal.objects.all(), request.user, pk=pk)
        page = self.paginate_queryset(selectors.document_list(user=request.user, deal=deal))
        return self.get_paginated_response(s.DocumentSerializer(page, many=True).data)

    @extend_schema(
        tags=["documents"],
        summary="Generate a document from a template; the worker makes the files (status generating)",
        request=s.DocumentCreateSerializer,
        responses={201: s.DocumentSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        deal = get_scoped_or_404(Deal.objects.all(), request.user, "change", pk=pk)
        data = _valid(s.DocumentCreateSerializer, request)
        document = services.document_create(
            actor=request.user,
            deal=deal,
            template=data["template"],
            format=data["format"],
            legal_entity=data.get("legal_entity"),
        )
        return Response(_document_out(document, request.user), status=status.HTTP_201_CREATED)


def _document_out(document: Document, user: Any) -> dict[str, Any]:
    fresh = (
        selectors.document_list(user=user, include_deleted=True).filter(pk=document.pk).first() or document
    )
    return s.DocumentSerializer(fresh).data


def _document(request: Request, pk: int, action: str = "view") -> Document:
    return get_scoped_or_404(Document.objects.filter(deleted_at__isnull=True), request.user, action, pk=pk)


class DocumentDetailView(GenericAPIView):
    serializer_class = s.DocumentSerializer

    @extend_schema(
        tags=["documents"],
        summary="One document with its versions",
        responses={200: s.DocumentSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_document_out(_document(request, pk), request.user))

    @extend_schema(
        tags=["documents"],
        summary="Delete (soft: kept with its files and number, logged)",
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.document_delete(actor=request.user, document=_document(request, pk, "change"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentRegenerateView(GenericAPIView):
    serializer_class = s.DocumentSerializer

    @extend_schema(
        tags=["documents"],
        summary="A new version from the current deal data (409 while in approval)",
        request=None,
        responses={201: s.DocumentSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        document = services.document_regenerate(actor=request.user, document=_document(request, pk, "change"))
        return Response(_document_out(document, request.user), status=status.HTTP_201_CREATED)


class DocumentRetryView(GenericAPIView):
    serializer_class = s.DocumentSerializer

    @extend_schema(
        tags=["documents"],
        summary="Retry a failed generation (same number and version)",
        request=None,
        responses={200: s.DocumentSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        document = services.document_retry(actor=request.user, document=_document(request, pk, "change"))
        return Response(_document_out(document, request.user))


class FileNegotiation(DefaultContentNegotiation):
    """``?format=pdf|docx`` names the file's format here, not DRF's renderer: don't negotiate on it."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class DocumentDownloadView(GenericAPIView):
    serializer_class = s.DocumentSerializer
    content_negotiation_class = FileNegotiation

    @extend_schema(
        tags=["documents"],
        summary="The file of a version (the newest by default)",
        parameters=[OpenApiParameter("format", str, enum=["pdf", "docx"]), OpenApiParameter("version", int)],
        responses={(200, "application/octet-stream"): bytes, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = _document(request, pk)
        return document_download_response(
            document, request.query_params.get("format"), request.query_params.get("version")
        )


def document_download_response(document: Document, fmt: str | None, version: str | None) -> HttpResponse:
    from django.core.exceptions import ValidationError

    fmt = fmt if fmt in ("pdf", "docx") else document.format
    try:
        number = int(version) if version else None
        row, data = services.document_file(document=document, format=fmt, version=number)
    except (ValueError, ValidationError) as exc:
        raise Http404 from exc
    content_type = (
        "application/pdf"
        if fmt == "pdf"
        else ("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    )
    response = HttpResponse(data, content_type=content_type)
    filename = f"{document.title} {document.number} v{row.version}.{fmt}".replace("/", "-").replace('"', "")
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["X-Content-SHA256"] = row.sha256
    return response


class DocumentSendView(GenericAPIView):
    serializer_class = s.DocumentSendSerializer

    @extend_schema(
        tags=["documents"],
        summary="E-mail the document's PDF to the deal's contact",
        request=s.DocumentSendSerializer,
        responses={200: None, **WRITE_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        document = _document(request, pk, "change")
        data = _valid(s.DocumentSendSerializer, request)
        interaction = services.document_send(actor=request.user, document=document, **data)
        return Response({"interaction": interaction.pk})

"""API views of the knowledge base: articles, versions, search, deal guidance and checklists, receipts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.api.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, ScopedViewSet
from otdel.core.scoping import get_scoped_or_404
from otdel.crm.models import Deal
from otdel.kb import selectors, services
from otdel.kb.api.serializers import (
    AcknowledgementsSerializer,
    AdherenceSerializer,
    ArticleInputSerializer,
    ArticleListSerializer,
    ArticleSerializer,
    ArticleVersionDetailSerializer,
    ArticleVersionSerializer,
    ChecklistMarkInputSerializer,
    GuidanceArticleSerializer,
    GuidanceChecklistSerializer,
    SearchMissSerializer,
    SearchResultSerializer,
)
from otdel.kb.models import Article, ChecklistItem
from otdel.kb.search import search_articles

WRITE_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


def _valid(serializer_class: type, request: Request, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _article_args(fields: dict[str, Any]) -> dict[str, Any]:
    if "checklist" in fields:
        fields["checklist"] = [dict(item) for item in fields["checklist"]]
    return fields


@extend_schema_view(
    list=extend_schema(summary="Articles the user may read (drafts only for editors and owners)"),
    retrieve=extend_schema(summary="One article", responses={200: ArticleSerializer, 404: NOT_FOUND}),
)
@extend_schema(tags=["kb"])
class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = ArticleSerializer

    def scoped_queryset(self) -> QuerySet[Article]:
        queryset = selectors.article_list(user=self.request.user).prefetch_related(
            "tags", "stages", "checklist", "ack_departments"
        )
        params = self.request.query_params
        for name in ("kind", "status", "language"):
            if params.get(name):
                queryset = queryset.filter(**{name: params[name]})
        return queryset.order_by("kind", "title", "id")

    def get_serializer_class(self) -> type:
        return ArticleListSerializer if self.action == "list" else ArticleSerializer

    @extend_schema(
        summary="Write an article (regulation or FAQ); status published makes version 1",
        request=ArticleInputSerializer,
        responses={201: ArticleSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        if not selectors.may_edit(request.user):
            raise PermissionDenied
        fields = _article_args(_valid(ArticleInputSerializer, request))
        fields.pop("expected_version", None)
        article = services.article_create(actor=request.user, **fields)
        return Response(ArticleSerializer(article).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an article; a changed text of a published article is published as a new version",
        request=ArticleInputSerializer,
        responses={200: ArticleSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        article = self.get_object()
        fields = _article_args(_valid(ArticleInputSerializer, request, partial=True))
        # A partial input still carries the serializer defaults of fields not sent: keep only what came.
        fields = {name: value for name, value in fields.items() if name in request.data}
        version = fields.pop("expected_version", None)
        article = services.article_update(
            actor=request.user, article=article, expected_version=version, **fields
        )
        return Response(ArticleSerializer(article).data)

    @extend_schema(
        summary="Published versions, newest first", responses={200: ArticleVersionSerializer(many=True)}
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request: Request, pk: str) -> Response:
        article = self.get_object()
        return Response(
            {"results": ArticleVersionSerializer(article.versions.select_related("author"), many=True).data}
        )

    @extend_schema(
        summary="One version with its text and a line diff against the previous one",
        responses={200: ArticleVersionDetailSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request: Request, pk: str, number: str) -> Response:
        article = self.get_object()
        version = get_object_or_404(article.versions.select_related("author"), number=int(number))
        previous = article.versions.filter(number__lt=version.number).order_by("-number").first()
        return Response(ArticleVersionDetailSerializer(version, context={"previous": previous}).data)

    @extend_schema(
        summary="Confirm having read the current version",
        request=None,
        responses={200: AcknowledgementsSerializer},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        article = get_scoped_or_404(Article.objects.all(), request.user, pk=pk)
        ack = services.article_acknowledge(actor=request.user, article=article)
        return Response({"article": article.pk, "version": ack.number, "at": ack.at})

    @extend_schema(
        summary="Who has and who has not confirmed reading the current version (owner and editors)",
        responses={200: AcknowledgementsSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def acknowledgements(self, request: Request, pk: str) -> Response:
        article = get_scoped_or_404(Article.objects.all(), request.user, "change", pk=pk)
        read, pending = selectors.ack_status(article)
        return Response({"version": article.published_number, "acknowledged": read, "pending": pending})

    @extend_schema(summary="Remind everyone who has not read the current version", request=None)
    @action(detail=True, methods=["post"])
    def remind(self, request: Request, pk: str) -> Response:
        article = get_scoped_or_404(Article.objects.all(), request.user, "change", pk=pk)
        return Response({"reminded": services.article_remind(actor=request.user, article=article)})


@extend_schema(
    tags=["kb"],
    summary="Search published articles (Russian morphology, ё = е, title weighs more)",
    parameters=[
        OpenApiParameter("q", str, required=True),
        OpenApiParameter("kind", str, enum=["regulation", "faq"]),
        OpenApiParameter("limit", int, description="1..50, default 20"),
    ],
    responses={200: SearchResultSerializer(many=True)},
)
class SearchView(APIView):
    def get(self, request: Request) -> Response:
        query = (request.query_params.get("q") or "").strip()[:200]
        articles = selectors.published_articles(user=request.user)
        if request.query_params.get("kind") in Article.Kind.values:
            articles = articles.filter(kind=request.query_params["kind"])
        try:
            limit = max(1, min(50, int(request.query_params.get("limit") or 20)))
        except ValueError:
            limit = 20
        hits, terms = search_articles(query, articles=articles, limit=limit)
        if terms and not hits:
            services.search_miss_log(query=query)
        return Response({"results": SearchResultSerializer(hits, many=True).data})


@extend_schema(
    tags=["kb"],
    summary="What to do at the deal's current stage: its regulations and FAQ, and the stage checklist",
    responses={200: None, 404: NOT_FOUND},
)
class DealGuidanceView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        deal = get_scoped_or_404(Deal.objects.select_related("stage"), request.user, pk=pk)
        articles = selectors.articles_for_stage(user=request.user, stage_id=deal.stage_id)
        rows = selectors.deal_checklist(deal=deal)
        return Response(
            {
                "stage": deal.stage_id,
                "articles": GuidanceArticleSerializer(articles, many=True).data,
                "checklist": GuidanceChecklistSerializer(rows, many=True).data,
            }
        )


@extend_schema(
    tags=["kb"],
    summary="Tick or untick an item of the deal's stage checklist",
    request=ChecklistMarkInputSerializer,
    responses={200: GuidanceChecklistSerializer, **WRITE_ERRORS},
)
class DealChecklistMarkView(APIView):
    def post(self, request: Request, pk: int, item_id: int) -> Response:
        deal = get_scoped_or_404(Deal.objects.all(), request.user, "change", pk=pk)
        item = get_object_or_404(ChecklistItem, pk=item_id)
        fields = _valid(ChecklistMarkInputSerializer, request)
        mark = services.deal_checklist_mark(actor=request.user, deal=deal, item=item, done=fields["done"])
        return Response(
            {
                "id": item.pk,
                "text": item.text,
                "required": item.required,
                "done": mark.done,
                "article": item.article_id,
            }
        )


@extend_schema(
    tags=["kb"],
    summary="Searches that found nothing (editors)",
    responses={200: SearchMissSerializer(many=True)},
)
class SearchMissView(APIView):
    def get(self, request: Request) -> Response:
        if not selectors.may_edit(request.user):
            raise PermissionDenied
        misses = selectors.search_misses(user=request.user)[:200]
        return Response({"results": SearchMissSerializer(misses, many=True).data})


@extend_schema(
    tags=["kb"],
    summary="Checklist adherence: share of stage exits with every item done, per manager or per stage",
    parameters=[
        OpenApiParameter("by", str, enum=["manager", "stage"]),
        OpenApiParameter("date_from", str),
        OpenApiParameter("date_to", str),
    ],
    responses={200: AdherenceSerializer(many=True)},
)
class AdherenceView(APIView):
    def get(self, request: Request) -> Response:
        from rest_framework import serializers

        params = request.query_params
        dates = serializers.DateField(required=False, allow_null=True)
        try:
            date_from = dates.to_internal_value(params["date_from"]) if params.get("date_from") else None
            date_to = dates.to_internal_value(params["date_to"]) if params.get("date_to") else None
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"date_from": exc.detail}) from exc
        by = "stage" if params.get("by") == "stage" else "manager"
        rows = selectors.adherence(user=request.user, by=by, date_from=date_from, date_to=date_to)
        return Response({"by": by, "results": AdherenceSerializer(rows, many=True).data})

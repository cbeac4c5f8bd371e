"""Reads of the documents app through ``scope``, and its scoping rules.

Documents and line items are seen by whoever sees their deal. The catalog, templates, numbering and
our legal entities are reference data: everyone signed in reads them, administrators change them
(the head of sales also keeps the catalog).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from otdel.accounts.models import Role
from otdel.core.scoping import scope, scope_rule
from otdel.crm.models import Deal
from otdel.documents.models import (
    DealItem,
    Document,
    DocumentTemplate,
    DocumentVersion,
    LegalEntity,
    NumberingSequence,
    Product,
)


def _reference(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return qs if action == "view" or user.is_admin else qs.none()


for _model in (DocumentTemplate, NumberingSequence, LegalEntity):
    scope_rule(_model)(_reference)


@scope_rule(Product)
def _scope_products(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if action == "view" or user.is_admin or user.role == Role.HEAD_OF_SALES:
        return qs
    return qs.none()


@scope_rule(Document)
def _scope_documents(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    return qs.filter(deal__in=scope(Deal.objects.all(), user, action).values("pk"))


@scope_rule(DealItem)
def _scope_items(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    return qs.filter(deal__in=scope(Deal.objects.all(), user, action).values("pk"))


def product_list(*, user: Any, q: str = "", active_only: bool = False) -> QuerySet[Product]:
    qs = scope(Product.objects.all(), user)
    if active_only:
        qs = qs.filter(is_active=True)
    for word in (q or "").lower().split()[:5]:
        qs = qs.filter(search_text__contains=word)
    return qs


def deal_items(*, user: Any, deal: Deal) -> QuerySet[DealItem]:
    return (
        scope(DealItem.objects.filter(deal=deal), user).select_related("product").order_by("position", "id")
    )


def template_list(*, user: Any, active_only: bool = True) -> QuerySet[DocumentTemplate]:
    qs = scope(DocumentTemplate.objects.select_related("numbering"), user)
    return qs.filter(is_active=True) if active_only else qs


def document_list(
    *, user: Any, deal: Deal | None = None, include_deleted: bool = False
) -> QuerySet[Document]:
    qs = scope(Document.objects.all(), user)
    if deal is not None:
        qs = qs.filter(deal=deal)
    if not include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    return qs.select_related("template", "author", "legal_entity").prefetch_related(
        Prefetch("versions", queryset=DocumentVersion.objects.order_by("-version", "format"))
    )


def legal_entity_default() -> LegalEntity | None:
    return LegalEntity.objects.filter(is_default=True).first()


def legal_entity_list(*, user: Any) -> QuerySet[LegalEntity]:
    return scope(LegalEntity.objects.all(), user)


def numbering_list(*, user: Any) -> QuerySet[NumberingSequence]:
    return scope(NumberingSequence.objects.select_related("legal_entity"), user)


def deal_has_open_documents(deal: Deal) -> bool:
    return Document.objects.filter(Q(deal=deal) & Q(deleted_at__isnull=True)).exists()

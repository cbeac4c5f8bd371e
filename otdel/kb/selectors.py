"""Reads of the knowledge base, always through ``scope``: what a user may read, what a deal's stage asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from otdel.accounts.models import Role
from otdel.accounts.permissions import may_manage_routing
from otdel.core.scoping import scope, scope_rule
from otdel.kb.models import Acknowledgement, Article, ChecklistItem, DealChecklistMark, SearchMiss, StageExit


def may_edit(user: Any) -> bool:
    """Administrators and the head of sales write the regulations (and owners their own articles)."""
    return may_manage_routing(user)


@scope_rule(Article)
def _scope_articles(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if may_edit(user):
        return qs
    if action == "view":
        return qs.filter(Q(status=Article.Status.PUBLISHED) | Q(owner=user))
    return qs.filter(owner=user)


@scope_rule(SearchMiss)
def _scope_misses(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return qs if may_edit(user) else qs.none()


def article_list(*, user: Any) -> QuerySet[Article]:
    return scope(Article.objects.select_related("section", "owner"), user)


def published_articles(*, user: Any) -> QuerySet[Article]:
    return article_list(user=user).filter(status=Article.Status.PUBLISHED)


def articles_for_stage(*, user: Any, stage_id: int) -> QuerySet[Article]:
    """Regulations first, then FAQ entries, tied to the stage."""
    return published_articles(user=user).filter(stages=stage_id).order_by("-kind", "title", "id").distinct()


def triage_articles(*, user: Any) -> QuerySet[Article]:
    return published_articles(user=user).filter(for_triage=True).order_by("-kind", "title", "id")


def articles_for_document_kind(*, user: Any, kind: str) -> list[Article]:
    # A JSON list: filtered in Python, so SQLite and PostgreSQL agree (few articles carry kinds).
    return [a for a in published_articles(user=user).exclude(document_kinds=[]) if kind in a.document_kinds]


@dataclass(frozen=True)
class ChecklistRow:
    item: ChecklistItem
    done: bool

    @property
    def id(self) -> int:
        return self.item.pk


def stage_checklist(*, stage_id: int) -> QuerySet[ChecklistItem]:
    """The items of the published regulations tied to a stage (the stage's checklist)."""
    return (
        ChecklistItem.objects.filter(
            article__status=Article.Status.PUBLISHED,
            article__kind=Article.Kind.REGULATION,
            article__stages=stage_id,
        )
        .select_related("article")
        .order_by("article__title", "article_id", "order", "id")
        .distinct()
    )


def deal_checklist(*, deal: Any, stage_id: int | None = None) -> list[ChecklistRow]:
    items = list(stage_checklist(stage_id=stage_id or deal.stage_id))
    done = set(
        DealChecklistMark.objects.filter(deal=deal, item__in=items, done=True).values_list(
            "item_id", flat=True
        )
    )
    return [ChecklistRow(item=item, done=item.pk in done) for item in items]


def ack_audience(article: Article) -> QuerySet[Any]:
    """Active users who must confirm reading the article (by role or by department)."""
    roles = list(article.ack_roles or [])
    departments = list(article.ack_departments.values_list("pk", flat=True))
    if not roles and not departments:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(role__in=roles) | Q(department__in=departments))
        .exclude(role=Role.INTEGRATION)
        .order_by("pk")
    )


def ack_status(article: Article) -> tuple[list[int], list[int]]:
    """(acknowledged, pending) user ids for the current published version."""
    audience = list(ack_audience(article).values_list("pk", flat=True))
    read = set(
        Acknowledgement.objects.filter(article=article, number=article.published_number).values_list(
            "user_id", flat=True
        )
    )
    return [pk for pk in audience if pk in read], [pk for pk in audience if pk not in read]


def pending_for_user(*, user: Any) -> list[Article]:
    """Published articles the user must (re)read: their role or department is asked, and they have not
    confirmed the current version."""
    if not getattr(user, "is_authenticated", False):
        return []
    asked = published_articles(user=user).filter(
        Q(ack_departments=user.department_id) if user.department_id else Q(pk__in=[])
    )
    by_role = [a for a in published_articles(user=user).exclude(ack_roles=[]) if user.role in a.ack_roles]
    candidates = {a.pk: a for a in [*asked, *by_role]}
    read = set(
        Acknowledgement.objects.filter(user=user, article__in=list(candidates)).values_list(
            "article_id", "number"
        )
    )
    return sorted(
        (a for a in candidates.values() if (a.pk, a.published_number) not in read), key=lambda a: a.title
    )


def search_misses(*, user: Any) -> QuerySet[SearchMiss]:
    return scope(SearchMiss.objects.all(), user)


@dataclass(frozen=True)
class AdherenceRow:
    key: int | None
    name: str
    exits: int
    complete: int

    @property
    def share(self) -> float:
        return round(self.complete / self.exits, 4) if self.exits else 0.0


def adherence(
    *, user: Any, by: str = "manager", date_from: Any = None, date_to: Any = None
) -> list[AdherenceRow]:
    """Share of deals that left a stage with every checklist item done, per manager or per stage.

    Only exits of deals the user may see count."""
    from otdel.crm.selectors import deal_list

    exits = StageExit.objects.filter(deal__in=deal_list(user=user).values("pk"))
    if date_from:
        exits = exits.filter(at__date__gte=date_from)
    if date_to:
        exits = exits.filter(at__date__lte=date_to)
    if by == "stage":
        rows = exits.values("stage_id", "stage__name", "stage__pipeline__name").annotate(
            total=Count("id"), done=Count("id", filter=Q(complete=True))
        )
        return sorted(
            (
                AdherenceRow(
                    r["stage_id"], f"{r['stage__pipeline__name']}: {r['stage__name']}", r["total"], r["done"]
                )
                for r in rows
            ),
            key=lambda row: row.name,
        )
    rows = exits.values("responsible_id", "responsible__full_name", "responsible__username").annotate(
        total=Count("id"), done=Count("id", filter=Q(complete=True))
    )
    return sorted(
        (
            AdherenceRow(
                r["responsible_id"],
                r["responsible__full_name"] or r["responsible__username"] or "—",
                r["total"],
                r["done"],
            )
            for r in rows
        ),
        key=lambda row: row.name,
    )

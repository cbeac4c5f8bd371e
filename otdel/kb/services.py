"""Writes of the knowledge base: articles and their versions, checklist marks, reading receipts, reminders."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from otdel.accounts.models import Department, Role
from otdel.core.changelog import check_version
from otdel.core.context import acting_as
from otdel.core.exceptions import field_error
from otdel.crm.models import Channel, LeadSource, Stage
from otdel.kb import search, selectors
from otdel.kb.errors import KbErrorCode
from otdel.kb.models import (
    Acknowledgement,
    Article,
    ArticleVersion,
    Attachment,
    ChecklistItem,
    DealChecklistMark,
    SearchMiss,
    Section,
    Tag,
)

NOTIFICATION_KIND = "kb"
SIMPLE_FIELDS = (
    "kind",
    "title",
    "body",
    "language",
    "section",
    "owner",
    "review_at",
    "sources",
    "channels",
    "document_kinds",
    "for_triage",
    "ack_roles",
)
CONTENT_FIELDS = ("title", "body")


def _check_choices(field: str, values: Iterable[str], allowed: Iterable[str]) -> list[str]:
    allowed = set(allowed)
    values = list(dict.fromkeys(values or []))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise field_error(field, _("Unknown value: %(values)s.") % {"values": ", ".join(map(str, unknown))})
    return values


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    if "kind" in fields:
        _check_choices("kind", [fields["kind"]], Article.Kind.values)
    if "language" in fields:
        _check_choices("language", [fields["language"]], Article.Language.values)
    if "title" in fields:
        fields["title"] = (fields["title"] or "").strip()
        if not fields["title"]:
            raise field_error("title", _("Give the article a title."), KbErrorCode.REQUIRED)
    if "sources" in fields:
        fields["sources"] = _check_choices("sources", fields["sources"], LeadSource.values)
    if "channels" in fields:
        fields["channels"] = _check_choices("channels", fields["channels"], Channel.values)
    if "ack_roles" in fields:
        roles = [r for r in Role.values if r != Role.INTEGRATION]
        fields["ack_roles"] = _check_choices("ack_roles", fields["ack_roles"], roles)
    if "document_kinds" in fields:
        fields["document_kinds"] = [
            str(k).strip()[:64] for k in fields["document_kinds"] or [] if str(k).strip()
        ]
    return fields


def _sync_checklist(article: Article, checklist: list[dict[str, Any]]) -> bool:
    """Make the article's items match ``checklist`` ([{"text", "required"}]); an item keeps its id
    (and the ticks on deals) while its text stays the same. Returns whether anything changed."""
    wanted: list[tuple[str, bool]] = []
    for entry in checklist:
        text = str(entry.get("text") or "").strip()[:300]
        if text and text not in [w[0] for w in wanted]:
            wanted.append((text, bool(entry.get("required"))))
    existing = {item.text: item for item in article.checklist.all()}
    changed = False
    for order, (text, required) in enumerate(wanted):
        item = existing.pop(text, None)
        if item is None:
            ChecklistItem.objects.create(article=article, text=text, required=required, order=order)
            changed = True
        elif item.required != required or item.order != order:
            item.required, item.order = required, order
            item.save(update_fields=["required", "order"])
            changed = True
    if existing:
        ChecklistItem.objects.filter(pk__in=[item.pk for item in existing.values()]).delete()
        changed = True
    return changed


def _checklist_data(article: Article) -> list[dict[str, Any]]:
    return [{"text": item.text, "required": item.required} for item in article.checklist.all()]


def _set_tags(article: Article, names: Iterable[str]) -> None:
    tags = []
    for name in dict.fromkeys(n.strip()[:60] for n in names if n and n.strip()):
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    article.tags.set(tags)


def _publish(article: Article, actor: Any) -> ArticleVersion:
    """Freeze the working copy as the next version, index it, and ask its audience to read it."""
    number = article.published_number + 1
    Article.objects.filter(pk=article.pk).update(published_number=number, published_at=timezone.now())
    article.published_number = number
    article.published_at = timezone.now()
    version = ArticleVersion.objects.create(
        article=article,
        number=number,
        title=article.title,
        body=article.body,
        checklist=_checklist_data(article),
        author=actor if getattr(actor, "pk", None) else None,
    )
    search.index_article(article)
    article_pk = article.pk
    transaction.on_commit(lambda: _ask_to_read(article_pk, key="kb-ack"))
    return version


def _ask_to_read(article_pk: int, *, key: str) -> int:
    from otdel.automation.services import notify

    article = Article.objects.filter(pk=article_pk, status=Article.Status.PUBLISHED).first()
    if article is None:
        return 0
    _read, pending = selectors.ack_status(article)
    users = selectors.ack_audience(article).filter(pk__in=pending)
    sent = 0
    for user in users:
        with override(getattr(user, "language", None) or None):
            title = _("Read and confirm: %(title)s (version %(number)s)") % {
                "title": article.title,
                "number": article.published_number,
            }
        if notify(
            user=user,
            kind=NOTIFICATION_KIND,
            key=f"{key}:{article.pk}:{article.published_number}",
            title=title,
            url=reverse("kb_article", args=[article.pk]),
        ):
            sent += 1
    return sent


@transaction.atomic
def article_create(
    *,
    actor: Any,
    title: str,
    kind: str = Article.Kind.REGULATION,
    body: str = "",
    status: str = Article.Status.DRAFT,
    stages: Iterable[Stage] = (),
    checklist: list[dict[str, Any]] | None = None,
    tags: Iterable[str] = (),
    ack_departments: Iterable[Department] = (),
    **fields: Any,
) -> Article:
    fields = _clean({"title": title, "kind": kind, **fields})
    _check_choices("status", [status], [Article.Status.DRAFT, Article.Status.PUBLISHED])
    unknown = set(fields) - set(SIMPLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown article fields: {sorted(unknown)}")
    with acting_as(actor):
        article = Article(body=body or "", status=status, **fields)
        if article.owner is None and getattr(actor, "pk", None):
            article.owner = actor
        article.save()
        article.stages.set(list(stages))
        article.ack_departments.set(list(ack_departments))
        _set_tags(article, tags)
        _sync_checklist(article, checklist or [])
        if status == Article.Status.PUBLISHED:
            _publish(article, actor)
        return article


@transaction.atomic
def article_update(
    *,
    actor: Any,
    article: Article,
    expected_version: int | None = None,
    stages: Iterable[Stage] | None = None,
    checklist: list[dict[str, Any]] | None = None,
    tags: Iterable[str] | None = None,
    ack_departments: Iterable[Department] | None = None,
    status: str | None = None,
    **fields: Any,
) -> Article:
    """Change an article. On a published article (or one being published) a change of the text,
    the title or the checklist is published as a new version; archiving takes it out of search."""
    fields = _clean(fields)
    unknown = set(fields) - set(SIMPLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown article fields: {sorted(unknown)}")
    if status is not None:
        _check_choices("status", [status], Article.Status.values)
    with acting_as(actor):
        check_version(article, expected_version)
        article = Article.objects.select_for_update().get(pk=article.pk)
        content_changed = any(
            name in fields and fields[name] != getattr(article, name) for name in CONTENT_FIELDS
        )
        was_published = article.status == Article.Status.PUBLISHED
        for name, value in fields.items():
            setattr(article, name, value)
        if status is not None:
            article.status = status
        article.save()
        if stages is not None:
            article.stages.set(list(stages))
        if ack_departments is not None:
            article.ack_departments.set(list(ack_departments))
        if tags is not None:
            _set_tags(article, tags)
        checklist_changed = _sync_checklist(article, checklist) if checklist is not None else False
        if article.status == Article.Status.PUBLISHED:
            if not was_published or content_changed or checklist_changed or article.published_number == 0:
                _publish(article, actor)
            else:
                search.index_article(article)  # language or links changed: same version
        else:
            search.unindex_article(article)
        return article


@transaction.atomic
def article_acknowledge(*, actor: Any, article: Article) -> Acknowledgement:
    """The user confirms having read the current version (again after each new one)."""
    if article.status != Article.Status.PUBLISHED or not article.published_number:
        raise ValidationError(
            _("Only a published article can be confirmed as read."), code=KbErrorCode.NOT_PUBLISHED
        )
    try:
        with transaction.atomic():
            ack, _created = Acknowledgement.objects.get_or_create(
                article=article, user=actor, number=article.published_number
            )
    except IntegrityError:  # the same click twice at once
        ack = Acknowledgement.objects.get(article=article, user=actor, number=article.published_number)
    return ack


def article_remind(*, actor: Any, article: Article) -> int:
    """The owner reminds whoever has not read the current version yet; once a day per person."""
    return _ask_to_read(article.pk, key=f"kb-remind-{timezone.localdate():%Y%m%d}")


def articles_review_remind(*, today: datetime.date | None = None) -> int:
    """Tell each owner about their published articles whose review date has come (once per date)."""
    from otdel.automation.services import notify

    today = today or timezone.localdate()
    due = Article.objects.filter(
        status=Article.Status.PUBLISHED, review_at__lte=today, owner__isnull=False
    ).select_related("owner")
    sent = 0
    for article in due:
        if article.review_reminded_for == article.review_at:
            continue
        with override(getattr(article.owner, "language", None) or None):
            title = _("Time to review: %(title)s") % {"title": article.title}
        notify(
            user=article.owner,
            kind=NOTIFICATION_KIND,
            key=f"kb-review:{article.pk}:{article.review_at:%Y%m%d}",
            title=title,
            url=reverse("kb_article", args=[article.pk]),
        )
        Article.objects.filter(pk=article.pk).update(review_reminded_for=article.review_at)
        sent += 1
    return sent


@transaction.atomic
def deal_checklist_mark(*, actor: Any, deal: Any, item: ChecklistItem, done: bool) -> DealChecklistMark:
    """Tick (or untick) an item of the deal's current stage checklist."""
    if not selectors.stage_checklist(stage_id=deal.stage_id).filter(pk=item.pk).exists():
        raise field_error(
            "item", _("This item is not on the checklist of the deal's stage."), KbErrorCode.NOT_ON_STAGE
        )
    mark, _created = DealChecklistMark.objects.update_or_create(
        deal=deal,
        item=item,
        defaults={"done": bool(done), "by": actor if getattr(actor, "pk", None) else None},
    )
    return mark


def search_miss_log(*, query: str, typing: bool = False) -> None:
    """Remember a query that found nothing (normalized: lower case, ё = е, single spaces).

    ``typing``: the query came from the as-you-type box, so the misses logged for its beginnings a
    moment ago ("доставк" before "доставка в казань") were the same search and are dropped.
    """
    text = " ".join(query.lower().replace("ё", "е").split())[:200]
    if len(text) < 3:
        return
    # One transaction (one commit, not one per statement): this runs on a keystroke of the box.
    with transaction.atomic():
        if typing:
            recent = timezone.now() - datetime.timedelta(minutes=2)
            # A keystroke that leaves the normalized query as it was ("слово", then "слово ") is the
            # same search, not a second one.
            if SearchMiss.objects.filter(query=text, last_at__gte=recent).update(last_at=timezone.now()):
                return
            # The beginnings of this query are its proper prefixes of 3 characters and more (shorter
            # ones are never logged): deleted by the unique index, without reading the misses.
            SearchMiss.objects.filter(
                query__in=[text[:n] for n in range(3, len(text))],
                count=1,
                last_at__gte=recent,
                resolved=False,
            ).delete()
        updated = SearchMiss.objects.filter(query=text).update(count=F("count") + 1, last_at=timezone.now())
        if not updated:
            try:
                with transaction.atomic():
                    SearchMiss.objects.create(query=text)
            except IntegrityError:
                SearchMiss.objects.filter(query=text).update(count=F("count") + 1)


def search_miss_resolve(*, actor: Any, miss: SearchMiss) -> SearchMiss:
    miss.resolved = True
    miss.save(update_fields=["resolved"])
    return miss


def section_get_or_create(*, name: str) -> Section:
    section, _created = Section.objects.get_or_create(name=name.strip()[:120])
    return section


@transaction.atomic
def attachment_add(*, actor: Any, article: Article, upload: Any) -> Attachment:
    limit = 10 * 1024 * 1024
    if upload.size > limit:
        raise field_error("file", _("The file is larger than 10 MB."), KbErrorCode.TOO_LARGE)
    name = (getattr(upload, "name", "") or "file")[-255:]
    return Attachment.objects.create(
        article=article, file=upload, name=name, uploaded_by=actor if getattr(actor, "pk", None) else None
    )

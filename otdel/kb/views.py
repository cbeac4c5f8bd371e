"""Pages of the knowledge base, and the blocks other pages load from it (deal card, lead inbox, reply box)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.models import User
from otdel.core.exceptions import ConflictError
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm.models import Contact, Deal, Stage
from otdel.kb import selectors, services
from otdel.kb.forms import ArticleForm
from otdel.kb.models import Article, Attachment, ChecklistItem, Section, Tag
from otdel.kb.search import search_articles
from otdel.kb.text import line_diff, render_markdown


def _rendered(articles: Any) -> list[Article]:
    """Articles with ``html`` set: their Markdown rendered and sanitized, for blocks that show them whole."""
    out = list(articles)
    for article in out:
        article.html = render_markdown(article.body)  # type: ignore[attr-defined]
    return out


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
def kb_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    articles = selectors.article_list(user=user).prefetch_related("tags")
    kind = request.GET.get("kind") or ""
    if kind in Article.Kind.values:
        articles = articles.filter(kind=kind)
    section = request.GET.get("section") or ""
    if section.isdigit():
        articles = articles.filter(section_id=int(section))
    tag = request.GET.get("tag") or ""
    if tag:
        articles = articles.filter(tags__name=tag)
    if not selectors.may_edit(user):
        articles = articles.filter(Q(status=Article.Status.PUBLISHED) | Q(owner=user))
    return render(
        request,
        "kb/home.html",
        {
            "articles": articles.order_by("section__order", "section__name", "-kind", "title", "id"),
            "sections": Section.objects.all(),
            "tags": Tag.objects.filter(articles__status=Article.Status.PUBLISHED).distinct(),
            "kind": kind,
            "section": section,
            "tag": tag,
            "to_read": selectors.pending_for_user(user=user),
            "may_edit": selectors.may_edit(user),
            "query": request.GET.get("q", ""),
        },
    )


@login_required
def kb_search(request: HttpRequest) -> HttpResponse:
    """The as-you-type results under the search box."""
    query = (request.GET.get("q") or "").strip()[:200]
    typing = _is_htmx(request)
    hits, terms = search_articles(
        query, articles=selectors.published_articles(user=request.user), as_you_type=typing, limit=10
    )
    if terms and not hits:
        services.search_miss_log(query=query, typing=typing)
    return render(request, "kb/_search_results.html", {"hits": hits, "query": query, "terms": terms})


def _article_for(request: HttpRequest, pk: int, action: str = "view") -> Article:
    return get_scoped_or_404(
        Article.objects.select_related("section", "owner").prefetch_related("tags", "checklist"),
        request.user,
        action,
        pk=pk,
    )


def _may_change(user: Any, article: Article) -> bool:
    return scope(Article.objects.filter(pk=article.pk), user, "change").exists()


@login_required
def kb_article(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    article = _article_for(request, pk)
    may_change = _may_change(request.user, article)
    read, pending = selectors.ack_status(article) if may_change else ([], [])
    users = User.objects.in_bulk([*read, *pending])
    audience = selectors.ack_audience(article)
    return render(
        request,
        "kb/article.html",
        {
            "article": article,
            "html": render_markdown(article.body),
            "versions": article.versions.select_related("author"),
            "stages": article.stages.select_related("pipeline"),
            "may_change": may_change,
            "acknowledged_users": [users[pk] for pk in read if pk in users],
            "pending_users": [users[pk] for pk in pending if pk in users],
            "must_read": audience.filter(pk=request.user.pk).exists() and article.published_number > 0,
            "has_read": article.acknowledgements.filter(user=user, number=article.published_number).exists(),
            "attachments": article.attachments.all(),
        },
    )


def _stages_for(user: Any) -> Any:
    return scope(Stage.objects.select_related("pipeline"), user).order_by(
        "pipeline__order", "pipeline_id", "order"
    )


def _save_article(request: HttpRequest, article: Article | None) -> HttpResponse:
    user = request.user
    initial = (
        ArticleForm.initial_for(article)
        if article
        else {"status": "draft", "language": "ru", "owner": user.pk}
    )
    form = ArticleForm(request.POST or None, initial=initial, stages=_stages_for(user))
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if article is None:
                article = services.article_create(actor=user, **fields)
            else:
                article = services.article_update(
                    actor=user, article=article, expected_version=form.cleaned_data.get("version"), **fields
                )
        except (ValidationError, ConflictError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("The article is saved."))
            return redirect("kb_article", pk=article.pk)
    return render(
        request,
        "kb/article_form.html",
        {"form": form, "article": article, "preview": render_markdown(form["body"].value() or "")},
    )


@login_required
def kb_article_create(request: HttpRequest) -> HttpResponse:
    if not selectors.may_edit(request.user):
        raise PermissionDenied
    return _save_article(request, None)


@login_required
def kb_article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_article(request, _article_for(request, pk, "change"))


@login_required
@require_POST
def kb_preview(request: HttpRequest) -> HttpResponse:
    """Live preview of the editor: the Markdown as readers will see it (sanitized)."""
    return render(
        request, "kb/_preview.html", {"html": render_markdown(request.POST.get("body", "")[:200_000])}
    )


@login_required
def kb_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = _article_for(request, pk)
    version = get_object_or_404(article.versions.select_related("author"), number=number)
    previous = article.versions.filter(number__lt=number).order_by("-number").first()
    return render(
        request,
        "kb/version.html",
        {
            "article": article,
            "version": version,
            "previous": previous,
            "html": render_markdown(version.body),
            "diff": line_diff(previous.body if previous else "", version.body),
            "title_changed": previous is not None and previous.title != version.title,
        },
    )


@login_required
@require_POST
def kb_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    article = _article_for(request, pk)
    try:
        services.article_acknowledge(actor=request.user, article=article)
        messages.success(request, _("Thank you: your reading is recorded."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    next_url = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("kb_article", pk=pk)


@login_required
@require_POST
def kb_remind(request: HttpRequest, pk: int) -> HttpResponse:
    article = _article_for(request, pk, "change")
    sent = services.article_remind(actor=request.user, article=article)
    messages.success(request, _("Reminders sent: %(count)s.") % {"count": sent})
    return redirect("kb_article", pk=pk)


@login_required
@require_POST
def kb_attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    article = _article_for(request, pk, "change")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
    else:
        try:
            attachment = services.attachment_add(actor=request.user, article=article, upload=upload)
            messages.success(
                request,
                _("Uploaded. Paste into the text: %(markdown)s")
                % {"markdown": f"![{attachment.name}](/kb/files/{attachment.pk}/)"},
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("kb_article_edit", pk=pk)


@login_required
def kb_file(request: HttpRequest, pk: int) -> FileResponse:
    attachment = get_object_or_404(Attachment, pk=pk)
    _article_for(request, attachment.article_id)  # 404 unless the reader may see the article
    try:
        return FileResponse(attachment.file.open("rb"), filename=attachment.name)
    except FileNotFoundError as exc:
        raise Http404 from exc


@login_required
def kb_misses(request: HttpRequest) -> HttpResponse:
    if not selectors.may_edit(request.user):
        raise PermissionDenied
    if request.method == "POST":
        miss = get_object_or_404(selectors.search_misses(user=request.user), pk=request.POST.get("miss") or 0)
        services.search_miss_resolve(actor=request.user, miss=miss)
        return redirect("kb_misses")
    return render(
        request,
        "kb/misses.html",
        {
            "misses": selectors.search_misses(user=request.user).filter(resolved=False)[:200],
            "by_manager": selectors.adherence(user=request.user, by="manager"),
            "by_stage": selectors.adherence(user=request.user, by="stage"),
        },
    )


# --- blocks of other pages ----------------------------------------------------------------------


def _guidance(request: HttpRequest, deal: Deal, *, error: str = "") -> HttpResponse:
    rows = selectors.deal_checklist(deal=deal)
    return render(
        request,
        "kb/_deal_guidance.html",
        {
            "deal": deal,
            "articles": _rendered(selectors.articles_for_stage(user=request.user, stage_id=deal.stage_id)),
            "rows": rows,
            "error": error,
            "may_tick": scope(Deal.objects.filter(pk=deal.pk), request.user, "change").exists(),
        },
    )


@login_required
def kb_deal_guidance(request: HttpRequest, pk: int) -> HttpResponse:
    """ "What to do at this stage" on the deal card."""
    deal = get_scoped_or_404(Deal.objects.select_related("stage"), request.user, pk=pk)
    return _guidance(request, deal)


@login_required
@require_POST
def kb_deal_checklist_mark(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    deal = get_scoped_or_404(Deal.objects.select_related("stage"), request.user, "change", pk=pk)
    item = get_object_or_404(ChecklistItem, pk=item_id)
    error = ""
    try:
        services.deal_checklist_mark(
            actor=request.user, deal=deal, item=item, done=request.POST.get("done") == "1"
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect("deal_detail", pk=pk)
    return _guidance(request, deal, error=error)


@login_required
def kb_triage(request: HttpRequest) -> HttpResponse:
    """The triage regulation on the lead inbox: how to tell non-target traffic."""
    return render(
        request, "kb/_triage.html", {"articles": _rendered(selectors.triage_articles(user=request.user))}
    )


@login_required
def kb_document_kind(request: HttpRequest, kind: str) -> HttpResponse:
    """The regulation of a document kind (for the approval page)."""
    articles = selectors.articles_for_document_kind(user=request.user, kind=kind)
    return render(request, "kb/_triage.html", {"articles": _rendered(articles), "heading": _("Regulation")})


@login_required
def kb_faq_suggest(request: HttpRequest) -> HttpResponse:
    """FAQ answers matching the client's last inbound message, for the reply box."""
    from otdel.comms.models import Direction, Interaction

    contact_id = request.GET.get("contact") or ""
    contact = (
        scope(Contact.objects.all(), request.user)
        .filter(pk=int(contact_id) if contact_id.isdigit() else 0)
        .first()
    )
    message = None
    hits: list[Any] = []
    if contact is not None:
        message = (
            Interaction.objects.filter(contact=contact, direction=Direction.IN)
            .exclude(body="", subject="")
            .order_by("-occurred_at", "-id")
            .first()
        )
    if message is not None:
        text = f"{message.subject} {message.body}"[:2000]
        faq = selectors.published_articles(user=request.user).filter(kind=Article.Kind.FAQ)
        hits, _terms = search_articles(text, articles=faq, limit=3, every=False)
        # Search hits carry titles only; the answer inserted into the reply is the whole text.
        bodies = dict(
            Article.objects.filter(pk__in=[hit.article.pk for hit in hits]).values_list("pk", "body")
        )
        for hit in hits:
            hit.article.body = bodies.get(hit.article.pk, "")
    return render(request, "kb/_faq_suggest.html", {"hits": hits, "message": message})

"""Full-text search over published articles: the same lemmas and the same ranking on SQLite and PostgreSQL.

The engine (FTS5 ``MATCH`` ranked by bm25 with the title weighing 3x, or ``@@`` ranked by
``ts_rank`` over a title-A / body-D tsvector) finds and pre-ranks at most ``CANDIDATES`` articles;
the final score is computed here in Python from the stored lemmas by one formula, so both
databases give the same order. Terms are ANDed; if nothing has every term, any term will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection

from otdel.kb.models import Article, ArticleIndex
from otdel.kb.text import QueryTerm, SnippetMarker, lemma_text, markdown_plain, query_terms

CANDIDATES = 60
TITLE_WEIGHT = 3.0
AVERAGE_BODY = 150.0  # lemmas: a fixed norm, so the score does not depend on what else is indexed


def index_article(article: Article, *, title: str | None = None, body: str | None = None) -> None:
    """Write the article's lemmas (the published text) into the index; triggers/generated columns
    carry them into the engine's structure."""
    title = article.title if title is None else title
    body = article.body if body is None else body
    plain = markdown_plain(body)
    values = {"title_lemmas": lemma_text(title), "body_lemmas": lemma_text(plain), "plain": plain}
    # A plain UPDATE, else INSERT: publications of one article are serialized by the service's row
    # lock, so update_or_create's SELECT ... FOR UPDATE and savepoint would only add round trips.
    if not ArticleIndex.objects.filter(article_id=article.pk).update(**values):
        ArticleIndex.objects.create(article_id=article.pk, **values)


def unindex_article(article: Article) -> None:
    ArticleIndex.objects.filter(article=article).delete()


def _alternatives(term: QueryTerm, *, postgres: bool) -> list[str]:
    # Terms are made of [0-9a-zа-я] only (text.WORD), so they are safe inside both query syntaxes.
    alts = [f'"{form}"' if not postgres else form for form in term.forms]
    if term.prefix:
        alts.append(f"{term.prefix}:*" if postgres else f'"{term.prefix}"*')
    return alts


def engine_query(terms: list[QueryTerm], *, every: bool = True) -> str:
    """The MATCH (SQLite) or to_tsquery (PostgreSQL) expression for ``terms``."""
    postgres = connection.vendor == "postgresql"
    groups = []
    for term in terms:
        alts = _alternatives(term, postgres=postgres)
        groups.append("(" + (" | " if postgres else " OR ").join(alts) + ")")
    return (
        (" & " if postgres else " AND ").join(groups)
        if every
        else (" | " if postgres else " OR ").join(groups)
    )


def engine_sql(limit: int = CANDIDATES) -> str:
    """The raw engine statement: ids of matching articles, best first (the benchmark's baseline)."""
    if connection.vendor == "postgresql":
        return (
            "SELECT article_id AS id FROM kb_articleindex WHERE search_vector @@ to_tsquery('simple', %s) "
            f"ORDER BY ts_rank(search_vector, to_tsquery('simple', %s)) DESC, article_id LIMIT {int(limit)}"
        )
    return (
        "SELECT rowid AS id FROM kb_article_fts WHERE kb_article_fts MATCH %s "
        f"ORDER BY bm25(kb_article_fts, {TITLE_WEIGHT}, 1.0), rowid LIMIT {int(limit)}"
    )


def _engine_params(expression: str) -> list[Any]:
    return [expression, expression] if connection.vendor == "postgresql" else [expression]


def engine_ids(expression: str, limit: int = CANDIDATES) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(engine_sql(limit), _engine_params(expression))
        return [row[0] for row in cursor.fetchall()]


class Candidates:
    """The engine's best ``CANDIDATES`` for an expression that ``scoped`` lets the reader see,
    published, with their lemmas and plain text: ``(id, kind, title, language, title_lemmas,
    body_lemmas, plain)`` by id, in one statement per expression.

    The statement is the engine statement with the rows joined to it, written here; only the
    reader's scope is compiled by the ORM, once per search, as a correlated ``EXISTS`` (one
    primary-key probe per candidate). Building and compiling the filtered, joined queryset, and a
    second round trip for the rows, were most of a search's own time."""

    def __init__(self, scoped: Any) -> None:
        try:
            scope_sql, self.scope_params = scoped.order_by().values_list("id").query.sql_with_params()
        except EmptyResultSet:  # scope(...).none(): nothing to see
            self.sql = ""
            return
        self.sql = (
            "SELECT a.id, a.kind, a.title, a.language, i.title_lemmas, i.body_lemmas, i.plain "
            f"FROM ({engine_sql()}) c JOIN kb_article a ON a.id = c.id "
            "LEFT JOIN kb_articleindex i ON i.article_id = a.id "
            f"WHERE a.status = %s AND EXISTS (SELECT 1 FROM ({scope_sql}) s WHERE s.id = a.id)"
        )

    def rows(self, expression: str) -> dict[int, tuple[Any, ...]]:
        if not self.sql:
            return {}
        params = [*_engine_params(expression), Article.Status.PUBLISHED.value, *self.scope_params]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return {row[0]: row for row in cursor.fetchall()}


def score(terms: list[QueryTerm], title_lemmas: str, body_lemmas: str) -> float:
    """One formula for both databases: a title hit weighs ``TITLE_WEIGHT``, body hits saturate
    (BM25-like, length-normalized by a fixed norm), and each query term counts once.

    Counting is done with ``str.count`` on the space-separated lemmas (C speed); only a prefix term
    (the word still being typed) needs the lemmas split."""
    title = title_lemmas.split()
    padded_title = f" {title_lemmas} "
    padded_body = f" {body_lemmas} "
    body_length = padded_body.count(" ") - 1
    body = body_lemmas.split() if any(term.prefix for term in terms) else []
    norm = 1.2 * (0.25 + 0.75 * body_length / AVERAGE_BODY)
    total = 0.0
    covered: set[str] = set()
    for term in terms:
        in_title = {form for form in term.forms if f" {form} " in padded_title}
        frequency = sum(padded_body.count(f" {form} ") for form in term.forms)
        if term.prefix:
            in_title |= {lemma for lemma in title if lemma.startswith(term.prefix)}
            frequency += sum(1 for lemma in body if lemma.startswith(term.prefix) and lemma not in term.forms)
        if in_title:
            total += TITLE_WEIGHT
            covered |= in_title
        total += frequency * 2.2 / (frequency + norm)
    # Short titles that are mostly the query rank above long ones that merely contain it.
    if title:
        total += sum(1 for lemma in title if lemma in covered) / len(title)
    return round(total, 4)


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    snippet: str


def search_articles(
    query: str,
    *,
    articles: Any = None,
    limit: int = 20,
    as_you_type: bool = False,
    every: bool | None = None,
) -> tuple[list[Hit], list[QueryTerm]]:
    """Published articles matching ``query``, best first, with ``<mark>`` snippets.

    ``articles`` narrows the result (a queryset: kind, section...); ``every`` forces AND (True) or
    OR (False); by default AND, falling back to OR when AND finds nothing.
    """
    terms = query_terms(query, as_you_type=as_you_type)
    if not terms:
        return [], terms
    modes = [every] if every is not None else [True, False] if len(terms) > 1 else [True]
    scoped = articles if articles is not None else Article.objects.filter(status=Article.Status.PUBLISHED)
    candidates = Candidates(scoped)
    rows: dict[int, tuple[Any, ...]] = {}
    for mode in modes:
        rows = candidates.rows(engine_query(terms, every=mode))
        if rows:
            break
    if not rows:
        return [], terms
    ranked = sorted(
        ((score(terms, row[4] or "", row[5] or ""), pk) for pk, row in rows.items()),
        key=lambda pair: (-pair[0], pair[1]),
    )[:limit]
    marker = SnippetMarker(terms)
    hits = []
    make = _article_maker()
    for value, pk in ranked:
        _pk, kind, title, language, _title_lemmas, _body_lemmas, plain = rows[pk]
        article = make(id=pk, kind=kind, title=title, language=language, status=Article.Status.PUBLISHED)
        hits.append(Hit(article=article, score=value, snippet=marker.snippet(plain or "")))
    return hits, terms


def _article_maker() -> Any:
    """Unsaved Articles with the given fields and defaults elsewhere, as ``Article(**fields)`` makes
    them, but through the positional constructor: the defaults are worked out once per search,
    not once per field of every hit (that was a sixth of a search's time)."""
    fields = Article._meta.concrete_fields
    defaults = [field.get_default() for field in fields]
    where = {field.attname: n for n, field in enumerate(fields)}

    def make(**given: Any) -> Article:
        values = list(defaults)
        for name, value in given.items():
            values[where[name]] = value
        return Article(*values)

    return make

"""Text tools of the knowledge base: Markdown to safe HTML, words to lemmas, snippets, diffs.

Russian words become pymorphy3 lemmas (every inflected form finds the others), Latin words an
English Snowball stem; ё is е everywhere. The same function feeds the index and the query, so
what is stored and what is asked always meet.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt

WORD = re.compile(r"[0-9a-zа-яё]+", re.IGNORECASE)
CYRILLIC = re.compile(r"[а-я]")
# Parts of speech that carry no meaning for search (prepositions, conjunctions, particles...).
STOP_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ"})
RU_STOP = frozenset(
    [
        "я",
        "мы",
        "ты",
        "вы",
        "он",
        "она",
        "оно",
        "они",
        "это",
        "этот",
        "эта",
        "эти",
        "тот",
        "та",
        "те",
        "то",
        "весь",
        "все",
        "всё",
        "свой",
        "наш",
        "ваш",
        "их",
        "его",
        "её",
        "ее",
        "который",
        "какой",
        "кто",
        "что",
        "где",
        "когда",
        "как",
        "так",
        "же",
        "ли",
        "бы",
        "да",
        "нет",
        "не",
        "ни",
        "быть",
        "есть",
        "был",
        "была",
        "были",
        "мочь",
        "надо",
        "нужно",
        "можно",
    ]
)
EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "do",
        "does",
        "did",
        "not",
        "no",
        "how",
        "what",
        "when",
        "where",
        "who",
        "which",
        "can",
        "i",
        "we",
        "you",
    ]
)

# --- Markdown -----------------------------------------------------------------------------------

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "mark",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}


def render_markdown(source: str) -> str:
    """Markdown -> HTML that is safe to show: raw HTML is escaped by the parser, and the result is
    cleaned again with nh3 (no scripts, no event handlers, no javascript: links)."""
    rendered = _markdown.render(source or "")
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


def markdown_plain(source: str) -> str:
    """The text a reader sees, without markup: what is indexed and quoted in snippets."""
    text = nh3.clean(_markdown.render(source or ""), tags=set())
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


# --- words and lemmas ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=1)
def _english() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> tuple[str, ...]:
    """The normal forms of one (lower-case, ё-folded) word; () for a stop word.

    A Russian word may read as several words ("стали": стать / сталь): all its normal forms are
    kept, so a query and a text that read the same form differently still meet.
    """
    if CYRILLIC.search(word):
        if word in RU_STOP:
            return ()
        parses = _morph().parse(word)
        if parses and str(parses[0].tag.POS) in STOP_POS:
            return ()
        forms: list[str] = []
        for parse in parses[:3]:
            form = parse.normal_form.replace("ё", "е")
            if form not in forms and (not forms or parse.score >= 0.1):
                forms.append(form)
        return tuple(forms) or (word,)
    if word in EN_STOP:
        return ()
    if word.isdigit():
        return (word,)
    return (_english().stemWord(word),)


def words(text: str) -> list[str]:
    return [fold(w) for w in WORD.findall(text or "")]


def lemma_text(text: str) -> str:
    """The index form of a text: its lemmas separated by spaces, in text order."""
    return " ".join(form for word in words(text) for form in lemmas(word))


@dataclass(frozen=True)
class QueryTerm:
    """One word of a query: any of its lemmas matches; ``prefix`` for the word still being typed."""

    forms: tuple[str, ...]
    prefix: str = ""


def query_terms(query: str, *, as_you_type: bool = False) -> list[QueryTerm]:
    """Split a query into terms; with ``as_you_type`` the last word also matches as a prefix."""
    raw = words(query)
    terms: list[QueryTerm] = []
    for position, word in enumerate(raw):
        forms = lemmas(word)
        last = as_you_type and position == len(raw) - 1 and query == query.rstrip()
        prefix = word if last and len(word) >= 2 and not word.isdigit() else ""
        if not forms and not prefix:
            continue
        if not any(term.forms == forms and term.prefix == prefix for term in terms):
            terms.append(QueryTerm(forms=forms, prefix=prefix))
    return terms


def term_matches(term: QueryTerm, lemma: str) -> bool:
    return lemma in term.forms or bool(term.prefix and lemma.startswith(term.prefix))


def _is_hit(token: str, terms: list[QueryTerm]) -> bool:
    word = fold(token)
    forms = lemmas(word)
    return any(term_matches(term, form) for term in terms for form in forms) or any(
        term.prefix and word.startswith(term.prefix) for term in terms
    )


def snippet(plain: str, terms: list[QueryTerm], *, width: int = 28) -> str:
    """About ``width`` words of ``plain`` around the first hit, HTML-escaped, hits in ``<mark>``."""
    tokens = list(WORD.finditer(plain))
    if not tokens:
        return ""
    first = next((i for i, match in enumerate(tokens) if _is_hit(match.group(), terms)), 0)
    start_token = max(0, first - width // 3)
    end_token = min(len(tokens), start_token + width)
    start = tokens[start_token].start() if start_token else 0
    end = tokens[end_token].start() if end_token < len(tokens) else len(plain)
    out: list[str] = ["…" if start else ""]
    cursor = start
    for index in range(start_token, end_token):
        match = tokens[index]
        if _is_hit(match.group(), terms):
            out.append(html.escape(plain[cursor : match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            cursor = match.end()
    out.append(html.escape(plain[cursor:end].rstrip()))
    if end < len(plain):
        out.append("…")
    return "".join(out).strip()


# --- versions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same" | "added" | "removed"
    text: str


def line_diff(old: str, new: str) -> list[DiffLine]:
    """A line-by-line diff a person reads: unchanged lines, removed ones, added ones."""
    out: list[DiffLine] = []
    kinds = {" ": "same", "+": "added", "-": "removed"}
    for line in difflib.ndiff((old or "").splitlines(), (new or "").splitlines()):
        if line[:1] in kinds:
            out.append(DiffLine(kind=kinds[line[:1]], text=line[2:]))
    return out

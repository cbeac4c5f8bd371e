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


class SnippetMarker:
    """Cuts snippets for one query: which words are hits is worked out once per distinct word."""

    def __init__(self, terms: list[QueryTerm]) -> None:
        self.forms = frozenset(form for term in terms for form in term.forms)
        self.prefixes = tuple(term.prefix for term in terms if term.prefix)
        self._hits: dict[str, bool] = {}

    def is_hit(self, token: str) -> bool:
        hit = self._hits.get(token)
        if hit is None:
            word = fold(token)
            hit = bool(self.forms.intersection(lemmas(word))) or (
                bool(self.prefixes)
                and (
                    word.startswith(self.prefixes)
                    or any(form.startswith(self.prefixes) for form in lemmas(word))
                )
            )
            self._hits[token] = hit
        return hit

    def snippet(self, plain: str, *, width: int = 28) -> str:
        """About ``width`` words of ``plain`` around the first hit, HTML-escaped, hits in ``<mark>``."""
        # Tokenize lazily: up to the first hit and one window past it, not the whole text.
        tokens: list[re.Match[str]] = []
        first = -1
        for match in WORD.finditer(plain):
            tokens.append(match)
            if first < 0 and self.is_hit(match.group()):
                first = len(tokens) - 1
            if first >= 0 and len(tokens) > first + width:
                break
        if not tokens:
            return ""
        first = max(first, 0)
        start_token = max(0, first - width // 3)
        end_token = min(len(tokens), start_token + width)
        start = tokens[start_token].start() if start_token else 0
        end = tokens[end_token].start() if end_token < len(tokens) else len(plain)
        out: list[str] = ["…" if start else ""]
        cursor = start
        for index in range(start_token, end_token):
            match = tokens[index]
            if self.is_hit(match.group()):
                out.append(html.escape(plain[cursor : match.start()]))
                out.append(f"<mark>{html.escape(match.group())}</mark>")
                cursor = match.end()
        out.append(html.escape(plain[cursor:end].rstrip()))
        if end < len(plain):
            out.append("…")
        return "".join(out).strip()


def snippet(plain: str, terms: list[QueryTerm], *, width: int = 28) -> str:
    return SnippetMarker(terms).snippet(plain, width=width)


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

"""Texts the system wrote earlier (history entries, notification titles) shown in the viewer's
language: they were stored already translated, in whatever language was active when they were
written (the demo writes Russian), so a person with the English interface would read Russian.

A stored text is matched against the catalogs: a Russian translation (with its ``%(name)s``
placeholders as wildcards) or an English msgid is found, its values are taken out, and the msgid is
translated into the active language with the same values. Texts that match nothing (a note someone
typed, a rule's own notification text) are shown as written.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext, trans_real

PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")
SOURCE_LANGUAGE = "ru"  # the language system texts are written in besides English


MIN_LETTERS = 4  # "%(a)s: %(b)s" would match any text with a colon: too loose to trust


@dataclass(frozen=True)
class _Pattern:
    msgid: str
    regex: re.Pattern[str]
    letters: int  # letters outside the placeholders: the more, the more specific


def _letters(template: str) -> int:
    return sum(ch.isalpha() for ch in PLACEHOLDER.sub("", template))


def _regex(template: str) -> re.Pattern[str] | None:
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in PLACEHOLDER.finditer(template):
        name, kind = match.groups()
        if name in seen:
            return None  # a repeated value cannot be a second named group
        seen.add(name)
        parts.append(re.escape(template[position : match.start()]))
        parts.append(f"(?P<{name}>-?\\d+)" if kind == "d" else f"(?P<{name}>.+?)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z", re.S)


@functools.cache
def _index() -> tuple[dict[str, str], list[_Pattern]]:
    """Exact texts -> msgid, and the patterns of texts with values (Russian and English forms)."""
    exact: dict[str, str] = {}
    patterns: list[_Pattern] = []
    catalog = trans_real.translation(SOURCE_LANGUAGE)._catalog  # type: ignore[attr-defined]  # all apps, merged
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or "\x04" in msgid or not isinstance(msgstr, str):
            continue
        if "%(" not in msgid:
            exact.setdefault(msgstr, msgid)
            exact.setdefault(msgid, msgid)
            continue
        for template in (msgstr, msgid):
            regex = _regex(template)
            if regex is not None and _letters(template) >= MIN_LETTERS:
                patterns.append(_Pattern(msgid, regex, _letters(template)))
    patterns.sort(key=lambda p: -p.letters)  # the most specific first
    return exact, patterns


@functools.lru_cache(maxsize=4096)
def _in_language(text: str, language: str) -> str:
    exact, patterns = _index()
    with translation.override(language):
        if text in exact:
            return gettext(exact[text])
        if "%" in text or len(text) > 2000:
            return text
        for pattern in patterns:
            match = pattern.regex.match(text)
            if match is None:
                continue
            values: dict[str, object] = {}
            for name, value in match.groupdict().items():
                if value.lstrip("-").isdigit():
                    values[name] = int(value)
                else:  # a value may be a system word itself ("Письмо" -> "E-mail")
                    values[name] = gettext(exact[value]) if value in exact else value
            try:
                return gettext(pattern.msgid) % values
            except (KeyError, TypeError, ValueError):
                return text
    return text


def retranslate(text: str | None) -> str:
    """``text`` in the active language if it is a system text the catalogs know, else unchanged."""
    if not text:
        return text or ""
    return _in_language(str(text), translation.get_language() or SOURCE_LANGUAGE)

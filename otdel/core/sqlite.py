"""SQLite tweaks so text matching behaves like PostgreSQL for Russian: LIKE/lower() know Unicode.

SQLite's built-in LIKE and lower() fold case for ASCII only, so "станок" would not find "Станок"
through Django's ``icontains``. We replace both with Unicode-aware versions on every connection.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver


@lru_cache(maxsize=512)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    out = []
    chars = iter(pattern)
    for ch in chars:
        if escape and ch == escape:
            out.append(re.escape(next(chars, "")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | re.IGNORECASE)


def _like(pattern: Any, value: Any, escape: Any = None) -> int | None:
    if pattern is None or value is None:
        return None
    return 1 if _like_regex(str(pattern), escape).fullmatch(str(value)) else 0


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


@receiver(connection_created)
def _unicode_text_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("like", 2, _like, deterministic=True)
    raw.create_function("like", 3, _like, deterministic=True)
    raw.create_function("lower", 1, _lower, deterministic=True)
    raw.create_function("upper", 1, _upper, deterministic=True)

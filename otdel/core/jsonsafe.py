"""Reading JSON that came from outside: refuse what parses in Python but breaks later.

``json.loads`` happily returns ``NaN``/``Infinity`` (PostgreSQL's JSON refuses them), integers of
any size (a ``bigint`` column does not hold 2^63), lone surrogates and NUL characters (neither can
be stored as text) and nests as deep as the interpreter's stack allows (then a RecursionError, a
500). ``loads`` refuses all of these with ``UnsafeJSON`` (a ValueError), so callers that already
answer 400 for "not JSON" answer 400 for these too, before anything is acknowledged or stored.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Deeper documents are refused: no payload Otdel takes nests anywhere near this.
MAX_DEPTH = 64
# The range of a signed 64-bit integer (PostgreSQL bigint, SQLite INTEGER).
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1


class UnsafeJSON(ValueError):
    """The text is not JSON Otdel accepts; the message says why (in English, for the log)."""


def _constant(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not a JSON number")


def _int(text: str) -> int:
    value = int(text)
    if not MIN_INT <= value <= MAX_INT:
        raise UnsafeJSON("integer out of the 64-bit range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJSON("number out of range")
    return value


def int_in_range(value: int) -> bool:
    """Whether ``value`` fits a 64-bit database integer."""
    return MIN_INT <= value <= MAX_INT


def nul_visible(text: str) -> str:
    """``text`` with every NUL written as the visible ``\\x00``: for logs of what was sent, which
    must keep the evidence and still be storable."""
    return text.replace("\x00", "\\x00")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise UnsafeJSON("NUL character in a string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnsafeJSON("lone surrogate in a string") from exc


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise UnsafeJSON if an already parsed value nests too deep or holds unstorable text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                raise UnsafeJSON(f"nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, sub in item.items():
                    _check_text(str(key))
                    stack.append((sub, depth + 1))
            else:
                stack.extend((sub, depth + 1) for sub in item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not int_in_range(item):
                raise UnsafeJSON("integer out of the 64-bit range")
        elif isinstance(item, float) and not math.isfinite(item):
            raise UnsafeJSON("number out of range")


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted input; UnsafeJSON (a ValueError) for anything refused."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except RecursionError as exc:
        raise UnsafeJSON(f"nested deeper than {max_depth} levels") from exc
    except UnicodeDecodeError as exc:
        raise UnsafeJSON("not UTF-8") from exc
    check(value, max_depth=max_depth)
    return value

"""Personal data and secrets kept out of the server's access log.

A PBX asks ``/telephony/route?caller=+79123456789``, a user searches ``/search/?q=Орлова`` or
``/contacts?identity=ivan@example.ru``, a bot posts to ``/telegram/<bot key>/webhook``, a recording
URL may carry ``user:password@``. The access log (gunicorn's, and runserver's) keeps the request
line, so these would sit in a plain-text file outside the 152-FZ access log and destruction. Here
the values of such parameters become ``+79*******89``-like masks (enough to tell lines apart),
secrets in paths and credentials in URLs become ``***``.

gunicorn: ``--logger-class otdel.core.logmask.MaskingGunicornLogger`` (``serve`` and the systemd
unit pass it); Django's own loggers: ``MaskingFilter`` on the console handler.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

# Query parameters whose values name a person or are secrets.
SENSITIVE_PARAMS = frozenset(
    {
        "caller",
        "called",
        "identity",
        "q",
        "phone",
        "email",
        "number",
        "from",
        "to",
        "destination",
        "search",
        "name",
        "token",
        "key",
        "secret",
        "password",
        "signature",
        "sig",
        "sign",
        "api_key",
        "access_token",
    }
)
# Path segments that are secrets: the Telegram bot key in its webhook URL.
_SECRET_PATHS = re.compile(r"(/api/v1/telegram/)[^/?#\s]+(/webhook)")
_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@")
_URL_WITH_QUERY = re.compile(r"(?<![\w/])(/[^\s?\"']*\?[^\s\"']*)")


def mask_value(value: str) -> str:
    """``+79123456789`` -> ``+79*******89``: the ends stay so lines can be told apart, not the person."""
    if len(value) <= 4:
        return "***"
    keep = 3 if len(value) > 8 else 1
    return value[:keep] + "*" * (len(value) - keep - 2) + value[-2:]


def mask_query(query: str) -> str:
    if not query:
        return query
    parts = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        shown = mask_value(value) if key.lower() in SENSITIVE_PARAMS and value else value
        parts.append(f"{quote(key, safe='')}={quote(shown, safe='*+@')}")
    return "&".join(parts)


def mask_url(url: str) -> str:
    """A path with its query, or a full URL: sensitive parameters masked, credentials dropped."""
    url = _CREDENTIALS.sub(r"\1***@", url)
    url = _SECRET_PATHS.sub(r"\1***\2", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    return urlunsplit(parts._replace(query=mask_query(parts.query)))


def mask_text(text: str) -> str:
    """Every URL-looking piece of a log line masked (request lines, "Not Found: /path?...")."""
    text = _CREDENTIALS.sub(r"\1***@", text)
    text = _SECRET_PATHS.sub(r"\1***\2", text)
    return _URL_WITH_QUERY.sub(lambda m: mask_url(unquote(m.group(1))), text)


class MaskingFilter(logging.Filter):
    """For Django's loggers (``django.server`` writes the request line of runserver)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not ours
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency; tests import this module anyway
    _GunicornLogger = object  # type: ignore[assignment,misc]


class MaskingGunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's access log with the request line, path, query and referer masked."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        raw_uri = environ.get("RAW_URI", "")
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {mask_url(raw_uri)} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"] = mask_url(atoms.get("U") or "")
        atoms["q"] = mask_query(atoms.get("q") or "")
        atoms["f"] = mask_url(atoms.get("f") or "-")
        return atoms

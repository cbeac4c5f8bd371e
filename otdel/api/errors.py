"""Every API error in one shape: ``{"errors": {"<field or __all__>": [...]}, "code": "..."}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from otdel.core.exceptions import ApiError, ConflictError

logger = logging.getLogger(__name__)


def _as_lists(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "__all__" if key in ("non_field_errors", "detail") else str(key)
            if isinstance(value, dict):  # nested serializer: flatten "identities.0.value"
                for sub, msgs in _as_lists(value).items():
                    out[f"{name}.{sub}"] = msgs
            elif isinstance(value, list):
                flat: list[str] = []
                for item in value:
                    if isinstance(item, dict):
                        for sub, msgs in _as_lists(item).items():
                            out.setdefault(f"{name}.{sub}", []).extend(msgs)
                    else:
                        flat.append(str(item))
                if flat:
                    out[name] = flat
            else:
                out[name] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"__all__": [str(item) for item in detail]}
    return {"__all__": [str(detail)]}


def _first_code(detail: Any, default: str) -> str:
    codes = detail
    while isinstance(codes, (dict, list)) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) and codes else default


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return Response(exc.body(), status=exc.status, headers=exc.headers)
    if isinstance(exc, ConflictError):
        return Response(
            {"errors": {exc.field: [exc.message]}, "code": exc.code}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {f: [str(m) for e in errs for m in e.messages] for f, errs in exc.error_dict.items()}
            codes = [e.code for errs in exc.error_dict.values() for e in errs if e.code]
        else:
            errors = {"__all__": list(exc.messages)}
            codes = [e.code for e in exc.error_list if e.code]
        return Response(
            {"errors": errors, "code": codes[0] if codes else "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        logger.warning("refused a request body over the upload limit")
        return Response(
            {"errors": {"__all__": ["The request body is too large."]}, "code": "request_too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (SuspiciousOperation, RecursionError)):
        # The client's fault: one line in the log, no traceback.
        logger.warning("refused a malformed request: %s", type(exc).__name__)
        return Response(
            {"errors": {"__all__": ["The request is malformed."]}, "code": "parse_error"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {"errors": {"__all__": ["Internal error; it has been logged."]}, "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.APIException):
        api_codes: Any = exc.get_codes()
        response.data = {
            "errors": _as_lists(exc.detail),
            "code": _first_code(api_codes, getattr(exc, "default_code", "error")),
        }
    return response

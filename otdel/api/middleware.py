"""Every answer under ``/api/`` in the API's error shape, whatever failed and wherever.

DRF's exception handler covers what a DRF view raises. This middleware covers the rest: a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), nesting deeper than the interpreter's stack (400) and other
client errors raised outside DRF's handler (Django would log them with a traceback and answer an
HTML page), and the HTML 404/400/500 pages Django renders for paths no view matched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

_MESSAGES = {
    400: ("The request is malformed.", "parse_error"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    405: ("Method not allowed.", "method_not_allowed"),
    413: ("The request body is too large.", "request_too_large"),
    500: ("Internal error; it has been logged.", "server_error"),
}


def error_response(status: int, message: str | None = None, code: str | None = None) -> JsonResponse:
    default_message, default_code = _MESSAGES.get(status, ("Error.", "error"))
    return JsonResponse(
        {"errors": {"__all__": [message or default_message]}, "code": code or default_code}, status=status
    )


def client_error_response(exc: BaseException) -> JsonResponse | None:
    """The JSON answer for an exception caused by the request itself, else None."""
    if isinstance(exc, RequestDataTooBig):
        return error_response(413)
    if isinstance(exc, RecursionError):
        return error_response(400, "The JSON is nested too deeply.")
    if isinstance(exc, SuspiciousOperation):
        return error_response(400)
    return None


def _is_json(response: HttpResponseBase) -> bool:
    return "json" in (response.get("Content-Type") or "")


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            request.path_info.startswith(API_PREFIX)
            and response.status_code in _MESSAGES
            and not _is_json(response)
            and "html" in (response.get("Content-Type") or "")
        ):
            return error_response(response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path_info.startswith(API_PREFIX):
            return None
        answer = client_error_response(exception)
        if answer is not None:
            logger.warning(
                "refused %s %s: %s", request.method, request.path_info, json.dumps(str(exception))[:200]
            )
        return answer

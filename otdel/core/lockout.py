"""Password guessing: django-axes counts failed sign-ins per account and per address (the
address from ``otdel.core.net.client_ip``) on every login path: ``/login/``, ``/admin/login/`` and
the API's token endpoint. Past ``AXES_FAILURE_LIMIT`` failures the account, and the address, are
locked for ``AXES_COOLOFF_TIME``; a locked sign-in is refused even with the right password.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check; a sign-in without a request (management commands, scripts) is not counted."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """429 in the API's error shape under /api/, else the sign-in page with the reason."""
    message = _("Too many failed sign-in attempts. Try again later or ask an administrator.")
    if request.path_info.startswith("/api/"):
        return JsonResponse({"errors": {"__all__": [message]}, "code": "locked_out"}, status=429)
    return render(request, "core/locked_out.html", {"message": message}, status=429)

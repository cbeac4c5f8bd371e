"""The PBX's live-route question, answered before the rest of the request cycle.

A PBX asks ``GET /api/v1/telephony/route`` on every ringing call and waits for the answer before
the phone rings anywhere. Sessions, CSRF, language, messages, URL resolving and DRF's request
and content negotiation cost more than finding the route itself (about 0.5 of 0.9 ms CPU per
request), and none of them matters to a PBX with a token. So this middleware, placed right after
SecurityMiddleware, answers exactly that request: a GET of the route path with a valid token of
an integration user or administrator, host checked against ALLOWED_HOSTS. Everything else (no
token, a wrong or revoked one, a user without the right, other methods) goes on to
``TelephonyRouteView``, which gives the same answer or refuses in the API's error shape. Both
build the answer with ``live_route_response``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from otdel.routing.api.authentication import CachedTokenAuthentication
from otdel.routing.selectors import live_route_response

ROUTE_PATHS = frozenset({"/api/v1/telephony/route", "/api/v1/telephony/route/"})


class LiveRouteMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.authentication = CachedTokenAuthentication()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method == "GET"
            and request.path_info in ROUTE_PATHS
            and self.authentication.integration_token(request)
        ):
            request.get_host()  # DisallowedHost -> 400, as for every other request
            return live_route_response(request.GET)
        return self.get_response(request)

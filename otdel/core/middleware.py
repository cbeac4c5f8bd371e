"""Middleware of the core: refusing query strings no database can hold, and making the logged-in
user the actor of the request's changes."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from otdel.core.context import acting_as


class NulQueryStringRefused(SuspiciousOperation):
    """A NUL character in a query parameter: PostgreSQL text cannot hold one."""


class RefuseNulMiddleware:
    """Answers 400 to a query string carrying a NUL character (``%00``), before any view runs.

    A filter or search with one would fail in PostgreSQL (a 500 on some pages, an unwritten access-log
    row on others). Bodies are the forms' and serializers' matter: both refuse NUL in text fields
    with a message on the field. Under ``/api/`` the 400 comes in the JSON error shape
    (``ApiErrorMiddleware``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query_string = request.META.get("QUERY_STRING", "")
        if "%00" in query_string or "\x00" in query_string:
            raise NulQueryStringRefused("A NUL character (%00) in the query string.")
        return self.get_response(request)


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(getattr(request, "user", None)):
            return self.get_response(request)

"""Every URL pattern, asked by an anonymous client: only the endpoints classified public answer 2xx.

A new view nobody classified fails here if it lets strangers in; add it to PUBLIC only if it is
meant for the outside world (and says so in docs/security.md).
"""

import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

# Names of views anyone may reach without signing in.
PUBLIC = {
    "login",
    "logout",
    "set_language",
    "healthz",  # liveness probe for the supervisor and monitoring: no data
    "api-auth-token",
    # The API description (no data): readable before signing in, like any public API's docs.
    "api-schema",
    "api-docs",
    "api-telephony-zadarma",
    "api-telephony-mango",
    "api-telegram-webhook",
    "api-webform-public",
    "api-webform-submissions",
    "webform-page",
    "webform-thanks",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.name


def _concrete(route):
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:slug|str|path|uuid):\w+>", "x", route)
    route = re.sub(r"\(\?P<\w+>([^)]*)\)", lambda m: "1" if "\\d" in m.group(1) else "x", route)
    route = route.replace("(?:/)?", "").replace("/?", "").replace("^", "").replace("$", "").replace("\\", "")
    return "/" + route


ROUTES = sorted({(_concrete(route), name or "") for route, name in _walk(get_resolver().url_patterns)})


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), ROUTES)
def test_anonymous_gets_nothing_from_a_private_endpoint(path, name):
    if name in PUBLIC or "(" in path or "<" in path:
        return
    client = Client(raise_request_exception=False)
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        assert response.status_code not in range(200, 300), (method, path, name, response.status_code)
        assert response.status_code < 500, (method, path, name, response.status_code)

"""OpenAPI schema adjustments that belong to no single app (imported by otdel/api/urls.py).

Every token-authenticated path uses ``Authorization: Token <secret>`` (``ApiTokenAuthentication``,
and its subclass ``CachedTokenAuthentication`` for the live route answered from memory): one
"tokenAuth" security scheme for both, not a second scheme a client would have to fill in
separately. drf-spectacular warns when two classes register a component under one name; for the
subclass that is intended, so the warning is switched off for it alone.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from otdel.routing.api.authentication import CachedTokenAuthentication


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "otdel.accounts.tokens.ApiTokenAuthentication"
    name = "tokenAuth"
    match_subclasses = True
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <secret>`: a personal token from `POST /api/v1/auth/token`, or an "
            "integration token made by an administrator (limited to its scopes)",
        }


set_override(CachedTokenAuthentication, "suppress_collision_warning", True)

"""OpenAPI schema adjustments that belong to no single app (imported by otdel/api/urls.py).

The live-route endpoint authenticates with ``CachedTokenAuthentication``: DRF's token check answered
from memory, the same ``Authorization: Token <key>`` header and the same tokens. drf-spectacular's
own token extension already matches it (it matches subclasses), so the schema needs one
"tokenAuth" security scheme for both classes, not a second scheme a client would have to fill in
separately. drf-spectacular warns when two classes register a component under one name; for this
class that is intended, so the warning is switched off for it alone.
"""

from __future__ import annotations

from drf_spectacular.drainage import set_override

from otdel.routing.api.authentication import CachedTokenAuthentication

set_override(CachedTokenAuthentication, "suppress_collision_warning", True)

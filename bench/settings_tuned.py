"""Otdel's settings with the two changes docs/performance.md proposes, for measuring them.

    bench/route.py --otdel-settings bench.settings_tuned
    bench/intake.py --otdel-settings bench.settings_tuned

1. Persistent SQLite connections. As shipped, a SQLite connection is closed after every request
   (CONN_MAX_AGE=0), so each request pays for opening the file and its PRAGMAs again
   (journal_mode=WAL re-checks the WAL on every open). PostgreSQL already keeps them (60 s).
2. Token authentication answered from memory for every API view (the route endpoint already
   does this): one query less per request for PBXs and scripts posting events.
"""

from otdel.settings import *  # noqa: F403
from otdel.settings import DATABASES, REST_FRAMEWORK

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "otdel.routing.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

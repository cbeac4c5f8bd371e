"""WSGI entry point (gunicorn otdel.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otdel.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # imports every view now rather than on the first request  # noqa: B018
# What is loaded by now (modules, classes, settings, URL patterns: ~175,000 objects) lives as long
# as the worker. Frozen, it is left out of the collector's full passes, which otherwise cost a few
# hundred milliseconds to whichever request triggers one (the p99 of a search, docs/performance.md).
gc.freeze()

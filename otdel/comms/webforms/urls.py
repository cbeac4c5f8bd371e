"""API routes of web forms (included from otdel/comms/api/urls.py), plus the consent purposes they use.

A trailing slash is optional; ``(?:/)?`` keeps the OpenAPI path slash-free and each operation
listed once (see ``otdel.api.routers.OptionalSlashRouter``).
"""

from django.urls import re_path

from otdel.comms.webforms.api import (
    WebFormDetailView,
    WebFormListView,
    WebFormPublicDefinitionView,
    WebFormSubmissionView,
)

# The same characters as Django's <slug:...> converter.
SLUG = r"(?P<slug>[-a-zA-Z0-9_]+)"

urlpatterns = [
    re_path(r"^forms(?:/)?$", WebFormListView.as_view(), name="api-webforms"),
    re_path(rf"^forms/{SLUG}(?:/)?$", WebFormDetailView.as_view(), name="api-webform"),
    re_path(
        rf"^forms/{SLUG}/public(?:/)?$", WebFormPublicDefinitionView.as_view(), name="api-webform-public"
    ),
    re_path(
        rf"^forms/{SLUG}/submissions(?:/)?$", WebFormSubmissionView.as_view(), name="api-webform-submissions"
    ),
]

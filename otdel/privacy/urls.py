"""API routes of the privacy app (mounted at /api/v1/ through otdel/comms/webforms/urls.py).

A trailing slash is optional; ``(?:/)?`` keeps the OpenAPI path slash-free and each operation
listed once (see ``otdel.api.routers.OptionalSlashRouter``).
"""

from django.urls import re_path

from otdel.privacy.api import ConsentPurposeDetailView, ConsentPurposeListView

urlpatterns = [
    re_path(r"^consent-purposes(?:/)?$", ConsentPurposeListView.as_view(), name="api-consent-purposes"),
    re_path(
        r"^consent-purposes/(?P<code>[-a-zA-Z0-9_]+)(?:/)?$",
        ConsentPurposeDetailView.as_view(),
        name="api-consent-purpose",
    ),
]

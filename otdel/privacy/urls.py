"""API routes of the privacy app (mounted at /api/v1/ through otdel/comms/webforms/urls.py)."""

from django.urls import path

from otdel.privacy.api import ConsentPurposeDetailView, ConsentPurposeListView

urlpatterns = [
    path("consent-purposes", ConsentPurposeListView.as_view(), name="api-consent-purposes"),
    path("consent-purposes/", ConsentPurposeListView.as_view()),
    path("consent-purposes/<slug:code>", ConsentPurposeDetailView.as_view(), name="api-consent-purpose"),
    path("consent-purposes/<slug:code>/", ConsentPurposeDetailView.as_view()),
]

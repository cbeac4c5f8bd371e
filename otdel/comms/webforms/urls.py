"""API routes of web forms (included from otdel/comms/api/urls.py), plus the consent purposes they use."""

from django.urls import include, path

from otdel.comms.webforms.api import (
    WebFormDetailView,
    WebFormListView,
    WebFormPublicDefinitionView,
    WebFormSubmissionView,
)

urlpatterns = [
    path("forms", WebFormListView.as_view(), name="api-webforms"),
    path("forms/", WebFormListView.as_view()),
    path("forms/<slug:slug>", WebFormDetailView.as_view(), name="api-webform"),
    path("forms/<slug:slug>/", WebFormDetailView.as_view()),
    path("forms/<slug:slug>/public", WebFormPublicDefinitionView.as_view(), name="api-webform-public"),
    path("forms/<slug:slug>/public/", WebFormPublicDefinitionView.as_view()),
    path("forms/<slug:slug>/submissions", WebFormSubmissionView.as_view(), name="api-webform-submissions"),
    path("forms/<slug:slug>/submissions/", WebFormSubmissionView.as_view()),
    # Consent purposes live in the privacy app; mounted here so they share the /api/v1/ prefix.
    path("", include("otdel.privacy.urls")),
]

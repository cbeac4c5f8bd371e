"""API routes: each app contributes its views from ``<app>/api/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from otdel.api import schema  # noqa: F401  (one "tokenAuth" scheme for the cached token check)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger's start-up script from a URL (/api/docs/?script=) instead of
    # inline: the Content-Security-Policy allows scripts from files only (docs/security.md).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include("otdel.api.v1")),
]

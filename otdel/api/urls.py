"""API routes: each app contributes its views from ``<app>/api/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from otdel.api import schema  # noqa: F401  (one "tokenAuth" scheme for the cached token check)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include("otdel.api.v1")),
]

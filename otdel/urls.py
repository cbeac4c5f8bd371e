"""Top-level URL map: the web UI, the REST API, the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("otdel.comms.api.urls")),
    path("api/v1/", include("otdel.routing.api.urls")),
    path("api/v1/", include("otdel.reports.api.urls")),
    path("api/v1/", include("otdel.transfer.api.urls")),
    path("api/v1/", include("otdel.automation.api.urls")),
    path("api/", include("otdel.api.urls")),
    path("", include("otdel.accounts.urls")),
    path("", include("otdel.crm.urls")),
    path("", include("otdel.routing.urls")),
    path("", include("otdel.comms.urls")),
    path("", include("otdel.automation.urls")),
    path("", include("otdel.privacy.web_urls")),
    path("", include("otdel.reports.urls")),
    path("", include("otdel.transfer.urls")),
    path("", include("otdel.web.urls")),
]

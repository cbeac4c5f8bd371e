"""Top-level URL map: the web UI, the REST API (every app's, mounted in otdel/api/v1.py), the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("otdel.api.urls")),
    path("", include("otdel.accounts.urls")),
    path("", include("otdel.crm.urls")),
    path("", include("otdel.routing.urls")),
    path("", include("otdel.comms.urls")),
    path("", include("otdel.live.urls")),
    path("", include("otdel.automation.urls")),
    path("", include("otdel.privacy.urls")),
    path("", include("otdel.reports.urls")),
    path("", include("otdel.transfer.urls")),
    path("", include("otdel.ops.urls")),
    path("", include("otdel.documents.urls")),
    path("", include("otdel.kb.urls")),
    path("", include("otdel.approvals.urls")),
    path("", include("otdel.web.urls")),
]

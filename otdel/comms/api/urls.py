"""API routes of the comms app: call events, channel webhooks and settings, timelines.

A trailing slash is optional; ``(?:/)?`` rather than ``/?`` keeps the OpenAPI path slash-free and
each operation listed once (see ``otdel.api.routers.OptionalSlashRouter``).
"""

from django.urls import include, path, re_path

from otdel.comms.api.views import TelephonyEventsView

urlpatterns = [
    re_path(r"^telephony/events(?:/)?$", TelephonyEventsView.as_view(), name="api-telephony-events"),
    path("", include("otdel.comms.telephony.urls")),
    path("", include("otdel.comms.email.urls")),
    path("", include("otdel.comms.telegram.urls")),
    path("", include("otdel.comms.webforms.urls")),
]

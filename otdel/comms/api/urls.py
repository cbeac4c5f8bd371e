"""API routes of the comms app: call events, channel webhooks and settings, timelines."""

from django.urls import include, path

from otdel.comms.api.views import TelephonyEventsView

urlpatterns = [
    path("telephony/events", TelephonyEventsView.as_view(), name="api-telephony-events"),
    path("telephony/events/", TelephonyEventsView.as_view()),
    path("", include("otdel.comms.telephony.urls")),
    path("", include("otdel.comms.email.urls")),
    path("", include("otdel.comms.telegram.urls")),
    path("", include("otdel.comms.webforms.urls")),
]

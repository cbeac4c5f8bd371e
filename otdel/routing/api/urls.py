"""API routes of the routing app (mounted at /api/v1/)."""

from django.urls import path

from otdel.routing.api.views import TelephonyRouteView

urlpatterns = [
    path("telephony/route", TelephonyRouteView.as_view(), name="api-telephony-route"),
    path("telephony/route/", TelephonyRouteView.as_view()),
]

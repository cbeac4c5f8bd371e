"""API routes of the routing app (mounted at /api/v1/); a trailing slash is optional."""

from django.urls import re_path

from otdel.routing.api import views

urlpatterns = [
    re_path(r"^telephony/route(?:/)?$", views.TelephonyRouteView.as_view(), name="api-telephony-route"),
    re_path(r"^queues(?:/)?$", views.QueueListView.as_view(), name="api-queues"),
    re_path(r"^queues/(?P<code>[-\w]+)(?:/)?$", views.QueueDetailView.as_view(), name="api-queue"),
    re_path(r"^routing/settings(?:/)?$", views.RoutingSettingsView.as_view(), name="api-routing-settings"),
    re_path(
        r"^routing/decisions(?:/)?$", views.RoutingDecisionListView.as_view(), name="api-routing-decisions"
    ),
    re_path(r"^routing/what-if(?:/)?$", views.WhatIfView.as_view(), name="api-routing-what-if"),
    re_path(
        r"^routing/blocked(?:/)?$", views.BlockedIdentityListView.as_view(), name="api-blocked-identities"
    ),
    re_path(
        r"^routing/blocked/(?P<pk>\d+)(?:/)?$",
        views.BlockedIdentityDetailView.as_view(),
        name="api-blocked-identity",
    ),
]

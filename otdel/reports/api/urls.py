"""Reports API routes (mounted at /api/v1/)."""

from django.urls import re_path

from otdel.reports.api.views import FunnelReportView, TrafficReportView

urlpatterns = [
    re_path(r"^reports/traffic(?:/)?$", TrafficReportView.as_view(), name="api-report-traffic"),
    re_path(r"^reports/funnel(?:/)?$", FunnelReportView.as_view(), name="api-report-funnel"),
]

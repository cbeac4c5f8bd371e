"""Reports API routes (mounted at /api/v1/)."""

from django.urls import re_path

from otdel.reports.api import views

urlpatterns = [
    re_path(r"^reports/traffic/?$", views.TrafficReportView.as_view(), name="api-report-traffic"),
    re_path(r"^reports/funnel/?$", views.FunnelReportView.as_view(), name="api-report-funnel"),
    re_path(r"^reports/managers/?$", views.ManagersReportView.as_view(), name="api-report-managers"),
    re_path(
        r"^reports/lost-reasons/?$", views.LostReasonsReportView.as_view(), name="api-report-lost-reasons"
    ),
    re_path(
        r"^reports/data-quality/?$", views.DataQualityReportView.as_view(), name="api-report-data-quality"
    ),
    re_path(r"^reports/sla/?$", views.SLAReportView.as_view(), name="api-report-sla"),
    re_path(r"^reports/regulations/?$", views.RegulationsReportView.as_view(), name="api-report-regulations"),
]

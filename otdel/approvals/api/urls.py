"""API routes of approvals and department requests (mounted under /api/v1/)."""

from django.urls import re_path

from otdel.approvals.api import views

urlpatterns = [
    re_path(r"^approval-routes(?:/)?$", views.RouteListView.as_view(), name="api-approval-routes"),
    re_path(
        r"^approval-routes/(?P<pk>\d+)(?:/)?$", views.RouteDetailView.as_view(), name="api-approval-route"
    ),
    re_path(
        r"^documents/(?P<pk>\d+)/approval(?:/)?$",
        views.DocumentApprovalView.as_view(),
        name="api-document-approval",
    ),
    re_path(r"^approvals(?:/)?$", views.ApprovalListView.as_view(), name="api-approvals"),
    re_path(r"^approvals/(?P<pk>\d+)(?:/)?$", views.ApprovalDetailView.as_view(), name="api-approval"),
    re_path(
        r"^approvals/(?P<pk>\d+)/decision(?:/)?$", views.DecisionView.as_view(), name="api-approval-decision"
    ),
    re_path(r"^approvals/(?P<pk>\d+)/cancel(?:/)?$", views.CancelView.as_view(), name="api-approval-cancel"),
    re_path(r"^department-requests(?:/)?$", views.RequestListView.as_view(), name="api-department-requests"),
    re_path(
        r"^department-requests/(?P<pk>\d+)(?:/)?$",
        views.RequestDetailView.as_view(),
        name="api-department-request",
    ),
    re_path(
        r"^department-requests/(?P<pk>\d+)/status(?:/)?$",
        views.RequestStatusView.as_view(),
        name="api-department-request-status",
    ),
]

"""API routes of the privacy app (mounted at /api/v1/ by otdel/api/v1.py).

A trailing slash is optional; ``(?:/)?`` keeps the OpenAPI path slash-free and each operation
listed once (see ``otdel.api.routers.OptionalSlashRouter``).
"""

from django.urls import re_path

from otdel.privacy.api import ConsentPurposeDetailView, ConsentPurposeListView, views

urlpatterns = [
    re_path(r"^consent-purposes(?:/)?$", ConsentPurposeListView.as_view(), name="api-consent-purposes"),
    re_path(
        r"^consent-purposes/(?P<code>[-a-zA-Z0-9_]+)(?:/)?$",
        ConsentPurposeDetailView.as_view(),
        name="api-consent-purpose",
    ),
    re_path(r"^subject-requests(?:/)?$", views.SubjectRequestListView.as_view(), name="api-subject-requests"),
    re_path(
        r"^subject-requests/(?P<pk>\d+)(?:/)?$",
        views.SubjectRequestDetailView.as_view(),
        name="api-subject-request",
    ),
    re_path(
        r"^subject-requests/(?P<pk>\d+)/extend(?:/)?$",
        views.SubjectRequestExtendView.as_view(),
        name="api-subject-request-extend",
    ),
    re_path(
        r"^subject-requests/(?P<pk>\d+)/close(?:/)?$",
        views.SubjectRequestCloseView.as_view(),
        name="api-subject-request-close",
    ),
    re_path(
        r"^subject-requests/(?P<pk>\d+)/export(?:/)?$",
        views.SubjectRequestExportView.as_view(),
        name="api-subject-request-export",
    ),
    re_path(
        r"^contacts/(?P<pk>\d+)/consents(?:/)?$", views.ContactConsentsView.as_view(), name="api-pd-consents"
    ),
    re_path(
        r"^contacts/(?P<pk>\d+)/consents/(?P<code>[-a-zA-Z0-9_]+)/withdraw(?:/)?$",
        views.ConsentWithdrawView.as_view(),
        name="api-pd-consent-withdraw",
    ),
    re_path(
        r"^contacts/(?P<pk>\d+)/destroy(?:/)?$", views.ContactDestroyView.as_view(), name="api-pd-destroy"
    ),
    re_path(
        r"^destruction-acts/(?P<pk>\d+)/pdf(?:/)?$",
        views.DestructionActPdfView.as_view(),
        name="api-pd-act-pdf",
    ),
    re_path(r"^pd-access-log(?:/)?$", views.PDAccessLogView.as_view(), name="api-pd-access-log"),
    re_path(r"^breaches(?:/)?$", views.BreachListView.as_view(), name="api-pd-breaches"),
    re_path(r"^breaches/(?P<pk>\d+)/sent(?:/)?$", views.BreachSentView.as_view(), name="api-pd-breach-sent"),
]

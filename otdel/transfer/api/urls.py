"""API routes of import and export; the trailing slash is optional (see otdel.api.routers)."""

from django.urls import re_path

from otdel.transfer.api import views

urlpatterns = [
    re_path(r"^imports(?:/)?$", views.ImportListView.as_view(), name="api-imports"),
    re_path(r"^imports/(?P<pk>\d+)(?:/)?$", views.ImportDetailView.as_view(), name="api-import"),
    re_path(r"^imports/(?P<pk>\d+)/start(?:/)?$", views.ImportStartView.as_view(), name="api-import-start"),
    re_path(
        r"^imports/(?P<pk>\d+)/cancel(?:/)?$", views.ImportCancelView.as_view(), name="api-import-cancel"
    ),
    re_path(r"^imports/(?P<pk>\d+)/undo(?:/)?$", views.ImportUndoView.as_view(), name="api-import-undo"),
    re_path(
        r"^imports/(?P<pk>\d+)/report(?:/)?$", views.ImportReportView.as_view(), name="api-import-report"
    ),
    re_path(
        r"^exports/(?P<kind>[a-z]+)/(?P<pk>\d+)(?:/)?$", views.ExportDetailView.as_view(), name="api-export"
    ),
    re_path(r"^exports/(?P<kind>[a-z]+)(?:/)?$", views.ExportView.as_view(), name="api-export-list"),
]

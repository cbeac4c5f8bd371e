"""Pages of import and export."""

from django.urls import path

from otdel.transfer import views

urlpatterns = [
    path("imports/", views.import_list, name="transfer_import_list"),
    path("imports/<int:pk>/", views.import_detail, name="transfer_import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="transfer_import_mapping"),
    path("imports/<int:pk>/report.xlsx", views.import_report, name="transfer_import_report"),
    path(
        "imports/<int:pk>/cancel/", views.import_action, {"action": "cancel"}, name="transfer_import_cancel"
    ),
    path("imports/<int:pk>/undo/", views.import_action, {"action": "undo"}, name="transfer_import_undo"),
    path("imports/<int:pk>/run/", views.import_action, {"action": "run"}, name="transfer_import_run"),
    path("exports/", views.export_list, name="transfer_export_list"),
    path("exports/<int:pk>/download/", views.export_download, name="transfer_export_download"),
    path("exports/list/<str:kind>/", views.export_list_download, name="transfer_export"),
]

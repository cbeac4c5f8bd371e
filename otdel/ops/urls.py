from django.urls import path

from otdel.ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("settings/status/", views.status_page, name="ops_status"),
    path("settings/status/backup/", views.backup_start, name="ops_backup_start"),
]

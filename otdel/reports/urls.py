"""URLs of the reports section."""

from django.urls import path

from otdel.reports import views

urlpatterns = [
    path("reports/", views.reports_index, name="reports_index"),
    path("reports/plans/", views.plan_edit, name="report_plans"),
    path("reports/subscriptions/", views.subscription_toggle, name="report_subscription"),
    path("reports/records/<str:metric>/", views.report_drill, name="report_drill"),
    path("reports/<slug:name>/", views.report_page, name="report_page"),
    path("reports/<slug:name>/export.<str:fmt>", views.report_export, name="report_export"),
]

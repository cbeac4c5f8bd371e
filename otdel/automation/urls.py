from django.urls import path

from otdel.automation import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/bell/", views.bell, name="notification_bell"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("my-day/", views.my_day, name="my_day"),
    path("automation/rules/", views.rule_list, name="automation_rules"),
    path("automation/rules/<int:pk>/", views.rule_detail, name="automation_rule"),
    path("automation/pipelines/<int:pk>/", views.pipeline_rules, name="automation_pipeline_rules"),
    path("automation/sla/", views.sla_board, name="automation_sla_board"),
]

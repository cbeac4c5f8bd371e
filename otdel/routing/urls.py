"""URLs of the routing and working-time pages (the absence and calendar views live in accounts)."""

from django.urls import path

from otdel.accounts import absence_views
from otdel.routing import views

urlpatterns = [
    path("contacts/<int:pk>/non-target/", views.contact_mark_non_target, name="contact_mark_non_target"),
    path("contacts/<int:pk>/restore-target/", views.contact_restore_target, name="contact_restore_target"),
    path("non-target/", views.non_target_inbox, name="non_target_inbox"),
    path("non-target/blocked/", views.blocked_identity_add, name="blocked_identity_add"),
    path(
        "non-target/blocked/<int:pk>/delete/", views.blocked_identity_remove, name="blocked_identity_remove"
    ),
    path("settings/routing/", views.routing_settings, name="routing_settings"),
    path("settings/queues/", views.queue_list, name="queue_list"),
    path("settings/queues/new/", views.queue_create, name="queue_create"),
    path("settings/queues/<int:pk>/", views.queue_edit, name="queue_edit"),
    path("routing/log/", views.routing_log, name="routing_log"),
    path("routing/what-if/", views.routing_what_if, name="routing_what_if"),
    path("settings/schedules/", absence_views.schedule_list, name="schedule_list"),
    path("settings/schedules/<int:user_id>/absences/", absence_views.absence_list, name="absence_list"),
    path(
        "settings/schedules/<int:user_id>/absences/new/", absence_views.absence_create, name="absence_create"
    ),
    path("settings/absences/<int:pk>/", absence_views.absence_edit, name="absence_edit"),
    path("settings/absences/<int:pk>/delete/", absence_views.absence_delete, name="absence_delete"),
    path("settings/calendar/", absence_views.calendar, name="production_calendar"),
    path("settings/calendar/<int:pk>/", absence_views.calendar_day_edit, name="calendar_day_edit"),
    path("settings/calendar/<int:pk>/delete/", absence_views.calendar_day_delete, name="calendar_day_delete"),
]

"""URLs of the web shell (the start page "home" belongs to crm; error pages are templates here)."""

from django.urls import path

from otdel.web import views

urlpatterns: list = [
    path("settings/", views.settings_index, name="settings_index"),
    path("setup/", views.setup_checklist, name="setup"),
    path("favicon.ico", views.favicon, name="favicon"),
]

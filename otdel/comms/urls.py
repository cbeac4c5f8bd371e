"""Web UI routes of the comms app, plus the public web-form pages."""

from django.urls import include, path

urlpatterns = [
    path("", include("otdel.comms.webforms.public_urls")),
]

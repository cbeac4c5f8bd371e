"""Routes of the live app: the event stream of open tabs."""

from django.urls import path

from otdel.live import views

urlpatterns = [path("live/stream", views.stream, name="live_stream")]

"""API routes of this channel (included from otdel/comms/api/urls.py)."""

urlpatterns: list = []

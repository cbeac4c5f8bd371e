"""Public pages of web forms (/f/<slug>), included from otdel/comms/urls.py."""

urlpatterns: list = []

"""Public pages of web forms (/f/<slug>), included from otdel/comms/urls.py."""

from django.urls import path

from otdel.comms.webforms.views import form_page, form_thanks

urlpatterns = [
    path("f/<slug:slug>", form_page, name="webform-page"),
    path("f/<slug:slug>/", form_page),
    path("f/<slug:slug>/thanks", form_thanks, name="webform-thanks"),
]

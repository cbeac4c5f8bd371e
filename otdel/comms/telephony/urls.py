"""API routes of the telephony channel (included from otdel/comms/api/urls.py, mounted at /api/v1/)."""

from django.urls import path

from otdel.comms.telephony.api import MangoWebhookView, TelephonyCallView, ZadarmaWebhookView

urlpatterns = [
    path("telephony/call", TelephonyCallView.as_view(), name="api-telephony-call"),
    path("telephony/zadarma/<slug:key>", ZadarmaWebhookView.as_view(), name="api-telephony-zadarma"),
    # Mango appends the event path (events/call, events/summary, ...) to the address it is given.
    path("telephony/mango/<slug:key>/<path:event>", MangoWebhookView.as_view(), name="api-telephony-mango"),
]

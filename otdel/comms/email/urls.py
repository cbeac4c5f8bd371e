"""API routes of the e-mail channel (included from otdel/comms/api/urls.py, mounted at /api/v1/)."""

from django.urls import path

from otdel.comms.email.api import ContactEmailView, MailboxDetailView, MailboxListView, MailboxSyncView

urlpatterns = [
    path("mailboxes", MailboxListView.as_view(), name="api-mailboxes"),
    path("mailboxes/<int:pk>", MailboxDetailView.as_view(), name="api-mailbox"),
    path("mailboxes/<int:pk>/sync", MailboxSyncView.as_view(), name="api-mailbox-sync"),
    path("contacts/<int:contact_id>/email", ContactEmailView.as_view(), name="api-contact-email"),
]

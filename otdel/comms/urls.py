"""Web UI routes of the comms app (timeline, reply box, inbox, channel settings), plus the public web-form pages."""

from django.urls import include, path

from otdel.comms import channels, views
from otdel.comms.email import views as email_views
from otdel.comms.telegram import views as telegram_views
from otdel.comms.telephony import views as telephony_views
from otdel.comms.webforms import views as webform_views

urlpatterns = [
    path("", include("otdel.comms.webforms.public_urls")),
    # On the cards
    path(
        "contacts/<int:pk>/timeline/", views.timeline, {"subject": "contact"}, name="comms_contact_timeline"
    ),
    path("deals/<int:pk>/timeline/", views.timeline, {"subject": "deal"}, name="comms_deal_timeline"),
    path("contacts/<int:pk>/reply/", views.reply, {"subject": "contact"}, name="comms_contact_reply"),
    path("deals/<int:pk>/reply/", views.reply, {"subject": "deal"}, name="comms_deal_reply"),
    path("contacts/<int:pk>/call/", telephony_views.contact_call, name="comms_contact_call"),
    path("interactions/<int:pk>/recording", views.recording, name="comms_recording"),
    path("attachments/<int:pk>/", views.attachment, name="comms_attachment"),
    # The ringing call on screen
    path("calls/ringing/", telephony_views.ringing_card_view, name="comms_ringing_card"),
    path("calls/ringing/new/", telephony_views.ringing_contact, name="comms_ringing_contact"),
    # Inbox
    path("inbox/", views.inbox, name="comms_inbox"),
    path("inbox/<int:pk>/handled/", views.mark_handled, name="comms_mark_handled"),
    path("inbox/<int:pk>/reply/", views.inbox_reply, name="comms_inbox_reply"),
    # Channel settings (administrators)
    path("settings/channels/", channels.channels_home, name="comms_channels"),
    path("settings/channels/telephony/", telephony_views.telephony_list, name="comms_telephony_list"),
    path("settings/channels/telephony/new/", telephony_views.telephony_edit, name="comms_telephony_create"),
    path(
        "settings/channels/telephony/<int:pk>/", telephony_views.telephony_edit, name="comms_telephony_edit"
    ),
    path(
        "settings/channels/telephony/<int:provider_pk>/lines/new/",
        telephony_views.telephony_line_edit,
        name="comms_line_create",
    ),
    path(
        "settings/channels/telephony/<int:provider_pk>/lines/<int:pk>/",
        telephony_views.telephony_line_edit,
        name="comms_line_edit",
    ),
    path("settings/channels/mailboxes/", email_views.mailbox_list_page, name="comms_mailbox_list"),
    path("settings/channels/mailboxes/new/", email_views.mailbox_edit, name="comms_mailbox_create"),
    path("settings/channels/mailboxes/<int:pk>/", email_views.mailbox_edit, name="comms_mailbox_edit"),
    path(
        "settings/channels/mailboxes/<int:pk>/sync/", email_views.mailbox_sync_page, name="comms_mailbox_sync"
    ),
    path("settings/channels/telegram/", telegram_views.telegram_list, name="comms_telegram_list"),
    path("settings/channels/telegram/new/", telegram_views.telegram_edit, name="comms_telegram_create"),
    path("settings/channels/telegram/<int:pk>/", telegram_views.telegram_edit, name="comms_telegram_edit"),
    path(
        "settings/channels/telegram/<int:pk>/webhook/",
        telegram_views.telegram_webhook,
        name="comms_telegram_webhook",
    ),
    path("settings/channels/forms/", webform_views.webform_list_page, name="comms_webform_list"),
    path("settings/channels/forms/new/", webform_views.webform_edit, name="comms_webform_create"),
    path("settings/channels/forms/<slug:slug>/", webform_views.webform_edit, name="comms_webform_edit"),
    path("settings/channels/intake/", channels.intake_list, name="comms_intake_list"),
    path("settings/channels/intake/<int:pk>/", channels.intake_detail, name="comms_intake_detail"),
    path("settings/channels/intake/<int:pk>/retry/", channels.intake_retry_page, name="comms_intake_retry"),
]

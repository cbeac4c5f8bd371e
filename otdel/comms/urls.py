"""Web UI routes of the comms app (timeline, reply box, inbox, channel settings), plus the public web-form pages."""

from django.urls import include, path

from otdel.comms import views

urlpatterns = [
    path("", include("otdel.comms.webforms.public_urls")),
    # On the cards
    path(
        "contacts/<int:pk>/timeline/", views.timeline, {"subject": "contact"}, name="comms_contact_timeline"
    ),
    path("deals/<int:pk>/timeline/", views.timeline, {"subject": "deal"}, name="comms_deal_timeline"),
    path("contacts/<int:pk>/reply/", views.reply, {"subject": "contact"}, name="comms_contact_reply"),
    path("deals/<int:pk>/reply/", views.reply, {"subject": "deal"}, name="comms_deal_reply"),
    path("contacts/<int:pk>/call/", views.contact_call, name="comms_contact_call"),
    path("interactions/<int:pk>/recording", views.recording, name="comms_recording"),
    path("attachments/<int:pk>/", views.attachment, name="comms_attachment"),
    # Inbox
    path("inbox/", views.inbox, name="comms_inbox"),
    path("inbox/<int:pk>/handled/", views.mark_handled, name="comms_mark_handled"),
    # Channel settings (administrators)
    path("settings/channels/", views.channels_home, name="comms_channels"),
    path("settings/channels/telephony/", views.telephony_list, name="comms_telephony_list"),
    path("settings/channels/telephony/new/", views.telephony_edit, name="comms_telephony_create"),
    path("settings/channels/telephony/<int:pk>/", views.telephony_edit, name="comms_telephony_edit"),
    path(
        "settings/channels/telephony/<int:provider_pk>/lines/new/",
        views.telephony_line_edit,
        name="comms_line_create",
    ),
    path(
        "settings/channels/telephony/<int:provider_pk>/lines/<int:pk>/",
        views.telephony_line_edit,
        name="comms_line_edit",
    ),
    path("settings/channels/mailboxes/", views.mailbox_list_page, name="comms_mailbox_list"),
    path("settings/channels/mailboxes/new/", views.mailbox_edit, name="comms_mailbox_create"),
    path("settings/channels/mailboxes/<int:pk>/", views.mailbox_edit, name="comms_mailbox_edit"),
    path("settings/channels/mailboxes/<int:pk>/sync/", views.mailbox_sync_page, name="comms_mailbox_sync"),
    path("settings/channels/telegram/", views.telegram_list, name="comms_telegram_list"),
    path("settings/channels/telegram/new/", views.telegram_edit, name="comms_telegram_create"),
    path("settings/channels/telegram/<int:pk>/", views.telegram_edit, name="comms_telegram_edit"),
    path(
        "settings/channels/telegram/<int:pk>/webhook/", views.telegram_webhook, name="comms_telegram_webhook"
    ),
    path("settings/channels/forms/", views.webform_list_page, name="comms_webform_list"),
    path("settings/channels/forms/new/", views.webform_edit, name="comms_webform_create"),
    path("settings/channels/forms/<slug:slug>/", views.webform_edit, name="comms_webform_edit"),
    path("settings/channels/intake/", views.intake_list, name="comms_intake_list"),
    path("settings/channels/intake/<int:pk>/", views.intake_detail, name="comms_intake_detail"),
    path("settings/channels/intake/<int:pk>/retry/", views.intake_retry_page, name="comms_intake_retry"),
]

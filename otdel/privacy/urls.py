"""Pages of the privacy app (mounted at the site root in otdel/urls.py)."""

from django.urls import path

from otdel.privacy import views

urlpatterns = [
    path("privacy/", views.overview, name="privacy_overview"),
    path("privacy/register/", views.register_page, name="privacy_register"),
    path("privacy/consents/", views.consent_list, name="privacy_consents"),
    path("privacy/purposes/", views.purpose_list, name="privacy_purposes"),
    path("privacy/purposes/new/", views.purpose_edit, name="privacy_purpose_new"),
    path("privacy/purposes/<slug:code>/", views.purpose_edit, name="privacy_purpose"),
    path("privacy/requests/", views.request_list, name="privacy_requests"),
    path("privacy/requests/<int:pk>/", views.request_detail, name="privacy_request"),
    path("privacy/requests/<int:pk>/export/", views.request_export, name="privacy_request_export"),
    path("privacy/proposals/", views.proposal_list, name="privacy_proposals"),
    path("privacy/acts/", views.act_list, name="privacy_acts"),
    path("privacy/acts/<int:pk>/pdf/", views.act_pdf, name="privacy_act_pdf"),
    path("privacy/access-log/", views.access_log, name="privacy_access_log"),
    path("privacy/breaches/", views.breach_list, name="privacy_breaches"),
    path("privacy/breaches/<int:pk>/", views.breach_detail, name="privacy_breach"),
    path("privacy/contacts/<int:pk>/destroy/", views.contact_destroy_view, name="privacy_contact_destroy"),
    path("privacy/contacts/<int:pk>/consents/add/", views.consent_add_view, name="privacy_consent_add"),
    path(
        "privacy/contacts/<int:pk>/consents/<slug:code>/withdraw/",
        views.consent_withdraw_view,
        name="privacy_consent_withdraw",
    ),
    path("privacy/consents/<int:pk>/scan/", views.consent_scan, name="privacy_consent_scan"),
    path("privacy/consents/<int:pk>/proof/", views.consent_proof_view, name="privacy_consent_proof"),
]

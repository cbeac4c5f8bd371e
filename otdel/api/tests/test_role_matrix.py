"""Every URL pattern, asked (GET, then an empty POST) by every role: each answers exactly as the table below says.

A new view is in no row of ``EXPECTED`` and fails here until someone writes down, per role, what it
should answer (200 shown, 302 sent elsewhere, 403 refused, 404 hidden, 405 another method): so a view
without a permission check cannot slip in unnoticed. Paths are filled like the anonymous matrix does
(ids 1, slugs "x"); the Django admin is checked as one family (staff only). Run with
``OTDEL_MATRIX_PRINT=1`` to print the observed table (to review, then paste).
"""

import datetime
import os

import pytest
from django.test import Client

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.api.tests.test_anonymous_matrix import PUBLIC, ROUTES
from otdel.core.models import CalendarDay

ROLES = ("admin", "head_of_sales", "sales_manager", "office_manager", "approver")

# url name -> status for (admin, head of sales, sales manager, office manager, approver).
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    "api-approval": (404, 404, 404, 404, 404),
    "api-approval-cancel": (405, 405, 405, 405, 405),
    "api-approval-decision": (405, 405, 405, 405, 405),
    "api-approval-route": (404, 404, 404, 404, 404),
    "api-approval-routes": (200, 200, 200, 200, 200),
    "api-approvals": (200, 200, 200, 200, 200),
    "api-custom-field-detail": (404, 404, 404, 404, 404),
    "api-custom-field-list": (200, 200, 200, 200, 200),
    "api-department-request": (404, 404, 404, 404, 404),
    "api-department-request-status": (405, 405, 405, 405, 405),
    "api-department-requests": (200, 200, 200, 200, 200),
    "api-document-approval": (404, 404, 404, 404, 404),
    "api-pipeline-reorder": (405, 405, 405, 405, 405),
    "api-pipeline-stages": (405, 405, 405, 405, 405),
    "api-stage-detail": (404, 404, 404, 404, 404),
    "approvals_cancel": (405, 405, 405, 405, 405),
    "approvals_deal_block": (404, 404, 404, 404, 404),
    "approvals_decide": (405, 405, 405, 405, 405),
    "approvals_department_inbox": (200, 200, 200, 200, 200),
    "approvals_departments": (200, 200, 200, 200, 200),
    "approvals_desk_save": (405, 405, 405, 405, 405),
    "approvals_detail": (404, 404, 404, 404, 404),
    "approvals_document_send": (405, 405, 405, 405, 405),
    "approvals_inbox": (200, 200, 200, 200, 200),
    "approvals_pdf": (404, 404, 404, 404, 404),
    "approvals_request_create": (405, 405, 405, 405, 405),
    "approvals_request_file": (404, 404, 404, 404, 404),
    "approvals_request_status": (405, 405, 405, 405, 405),
    "approvals_route_create": (200, 200, 403, 403, 403),
    "approvals_route_edit": (404, 404, 403, 403, 403),
    "approvals_routes": (200, 200, 200, 200, 200),
    "comms_inbox_reply": (404, 404, 404, 404, 404),
    "comms_ringing_card": (200, 200, 200, 200, 200),
    "comms_ringing_contact": (405, 405, 405, 405, 405),
    "custom_values_edit": (405, 405, 405, 405, 405),
    "live_stream": (200, 200, 200, 200, 200),
    "notification_settings": (200, 200, 200, 200, 200),
    "settings_custom_field": (404, 404, 403, 403, 403),
    "settings_custom_fields": (200, 200, 403, 403, 403),
    "settings_pipeline_create": (405, 405, 405, 405, 405),
    "settings_pipeline_save": (405, 405, 405, 405, 405),
    "settings_pipelines": (200, 200, 403, 403, 403),
    "settings_stage_add": (405, 405, 405, 405, 405),
    "settings_stage_delete": (405, 405, 405, 405, 405),
    "settings_stage_save": (405, 405, 405, 405, 405),
    "settings_stages_reorder": (405, 405, 405, 405, 405),
    "api-document-template": (404, 404, 404, 404, 404),
    "api-document-template-file": (405, 405, 405, 405, 405),
    "api-report-regulations": (200, 200, 200, 403, 403),
    "deal_quick_add": (405, 405, 405, 405, 405),
    "documents_compose": (404, 404, 404, 404, 404),
    "documents_product_active": (405, 405, 405, 405, 405),
    "documents_product_edit": (404, 404, 403, 403, 403),
    "documents_template_active": (405, 405, 405, 405, 405),
    "documents_template_version": (405, 405, 405, 405, 405),
    "favicon": (301, 301, 301, 301, 301),
    "settings_index": (200, 200, 403, 403, 403),
    "setup": (200, 403, 403, 403, 403),
    "/f/x/": (404, 404, 404, 404, 404),
    "absence_create": (200, 404, 404, 404, 404),
    "absence_delete": (404, 404, 404, 404, 404),
    "absence_edit": (404, 404, 404, 404, 404),
    "absence_list": (200, 404, 404, 404, 404),
    "api-blocked-identities": (200, 200, 403, 403, 403),
    "api-blocked-identity": (404, 404, 403, 403, 403),
    "api-company-detail": (404, 404, 404, 404, 404),
    "api-company-list": (200, 200, 200, 200, 200),
    "api-company-notes": (404, 404, 404, 404, 404),
    "api-consent-purpose": (404, 403, 403, 403, 403),
    "api-consent-purposes": (200, 403, 403, 403, 403),
    "api-contact-detail": (404, 404, 404, 404, 404),
    "api-contact-email": (405, 405, 405, 405, 405),
    "api-contact-list": (200, 200, 200, 200, 200),
    "api-contact-merge": (405, 405, 405, 405, 405),
    "api-contact-notes": (404, 404, 404, 404, 404),
    "api-contact-restore-target": (405, 405, 405, 405, 405),
    "api-contact-telegram": (405, 405, 405, 405, 405),
    "api-contact-timeline": (404, 404, 404, 404, 404),
    "api-deal-checklist-mark": (405, 405, 405, 405, 405),
    "api-deal-detail": (404, 404, 404, 404, 404),
    "api-deal-documents": (404, 404, 404, 404, 404),
    "api-deal-guidance": (404, 404, 404, 404, 404),
    "api-deal-items": (404, 404, 404, 404, 404),
    "api-deal-list": (200, 200, 200, 200, 200),
    "api-deal-move": (405, 405, 405, 405, 405),
    "api-deal-notes": (404, 404, 404, 404, 404),
    "api-deal-sla": (404, 404, 404, 404, 404),
    "api-document": (404, 404, 404, 404, 404),
    "api-document-download": (404, 404, 404, 404, 404),
    "api-document-regenerate": (405, 405, 405, 405, 405),
    "api-document-retry": (405, 405, 405, 405, 405),
    "api-document-send": (405, 405, 405, 405, 405),
    "api-document-templates": (200, 200, 200, 200, 200),
    "api-export": (404, 404, 404, 404, 404),
    "api-export-list": (404, 404, 404, 404, 404),
    "api-import": (404, 404, 404, 404, 404),
    "api-import-cancel": (405, 405, 405, 405, 405),
    "api-import-report": (404, 404, 404, 404, 404),
    "api-import-start": (405, 405, 405, 405, 405),
    "api-import-undo": (405, 405, 405, 405, 405),
    "api-imports": (405, 405, 405, 405, 405),
    "api-integration-token-detail": (404, 403, 403, 403, 403),
    "api-integration-token-list": (200, 403, 403, 403, 403),
    "api-kb-adherence": (200, 200, 200, 200, 200),
    "api-kb-article-acknowledge": (405, 405, 405, 405, 405),
    "api-kb-article-acknowledgements": (404, 404, 404, 404, 404),
    "api-kb-article-detail": (404, 404, 404, 404, 404),
    "api-kb-article-list": (200, 200, 200, 200, 200),
    "api-kb-article-remind": (405, 405, 405, 405, 405),
    "api-kb-article-version": (404, 404, 404, 404, 404),
    "api-kb-article-versions": (404, 404, 404, 404, 404),
    "api-kb-misses": (200, 200, 403, 403, 403),
    "api-kb-search": (200, 200, 200, 200, 200),
    "api-lead-detail": (404, 404, 404, 404, 404),
    "api-lead-list": (200, 200, 200, 200, 200),
    "api-lead-sla": (404, 404, 404, 404, 404),
    "api-lead-triage": (405, 405, 405, 405, 405),
    "api-legal-entities": (200, 200, 200, 200, 200),
    "api-legal-entity": (405, 405, 405, 405, 405),
    "api-lost-reason-list": (200, 200, 200, 200, 200),
    "api-mailbox": (404, 403, 403, 403, 403),
    "api-mailbox-sync": (405, 403, 403, 403, 403),
    "api-mailboxes": (200, 403, 403, 403, 403),
    "api-my-company": (404, 404, 404, 404, 404),
    "api-numbering": (200, 200, 200, 200, 200),
    "api-pd-access-log": (200, 403, 403, 403, 403),
    "api-pd-act-pdf": (404, 403, 403, 403, 403),
    "api-pd-breach-sent": (405, 403, 403, 403, 403),
    "api-pd-breaches": (200, 403, 403, 403, 403),
    "api-pd-consent-withdraw": (405, 405, 405, 405, 405),
    "api-pd-consents": (404, 404, 404, 404, 404),
    "api-pd-destroy": (405, 403, 403, 403, 403),
    "api-pipeline-detail": (404, 404, 404, 404, 404),
    "api-pipeline-list": (200, 200, 200, 200, 200),
    "api-product": (404, 404, 404, 404, 404),
    "api-products": (200, 200, 200, 200, 200),
    "api-queue": (404, 404, 403, 403, 403),
    "api-queues": (200, 200, 403, 403, 403),
    "api-report-data-quality": (200, 200, 200, 403, 403),
    "api-report-funnel": (200, 200, 200, 403, 403),
    "api-report-lost-reasons": (200, 200, 200, 403, 403),
    "api-report-managers": (200, 200, 200, 403, 403),
    "api-report-sla": (200, 200, 200, 403, 403),
    "api-report-traffic": (200, 200, 200, 403, 403),
    "api-routing-decisions": (200, 200, 403, 403, 403),
    "api-routing-settings": (200, 200, 403, 403, 403),
    "api-routing-what-if": (200, 200, 403, 403, 403),
    "api-rule": (404, 404, 403, 403, 403),
    "api-rule-runs": (404, 404, 403, 403, 403),
    "api-rules": (200, 200, 403, 403, 403),
    "api-sla-policies": (200, 200, 403, 403, 403),
    "api-subject-request": (404, 403, 403, 403, 403),
    "api-subject-request-close": (405, 403, 403, 403, 403),
    "api-subject-request-export": (404, 403, 403, 403, 403),
    "api-subject-request-extend": (405, 403, 403, 403, 403),
    "api-subject-requests": (200, 403, 403, 403, 403),
    "api-task-complete": (405, 405, 405, 405, 405),
    "api-tasks": (200, 200, 200, 200, 200),
    "api-telegram-bot": (404, 403, 403, 403, 403),
    "api-telegram-bot-webhook": (405, 403, 403, 403, 403),
    "api-telegram-bots": (200, 403, 403, 403, 403),
    "api-telephony-call": (405, 405, 405, 405, 405),
    "api-telephony-events": (405, 403, 403, 403, 403),
    "api-telephony-route": (200, 403, 403, 403, 403),
    "api-template-reference": (200, 200, 200, 200, 200),
    "api-user-detail": (200, 403, 403, 403, 403),
    "api-user-list": (200, 403, 403, 403, 403),
    "api-user-me": (200, 200, 200, 200, 200),
    "api-webform": (404, 403, 403, 403, 403),
    "api-webforms": (200, 403, 403, 403, 403),
    "automation_pipeline_rules": (404, 404, 403, 403, 403),
    "automation_rule": (404, 404, 403, 403, 403),
    "automation_rules": (200, 200, 403, 403, 403),
    "automation_sla_board": (200, 200, 403, 403, 403),
    "blocked_identity_add": (302, 302, 404, 302, 404),
    "blocked_identity_remove": (302, 302, 404, 302, 404),
    "calendar_day_delete": (302, 404, 404, 404, 404),
    "calendar_day_edit": (200, 404, 404, 404, 404),
    "comms_attachment": (404, 404, 404, 404, 404),
    "comms_channels": (302, 404, 404, 404, 404),
    "comms_contact_call": (405, 405, 405, 405, 405),
    "comms_contact_reply": (404, 404, 404, 404, 404),
    "comms_contact_timeline": (404, 404, 404, 404, 404),
    "comms_deal_reply": (404, 404, 404, 404, 404),
    "comms_deal_timeline": (404, 404, 404, 404, 404),
    "comms_inbox": (200, 200, 200, 200, 200),
    "comms_intake_detail": (404, 404, 404, 404, 404),
    "comms_intake_list": (200, 404, 404, 404, 404),
    "comms_intake_retry": (405, 404, 404, 404, 404),
    "comms_line_create": (404, 404, 404, 404, 404),
    "comms_line_edit": (404, 404, 404, 404, 404),
    "comms_mailbox_create": (200, 404, 404, 404, 404),
    "comms_mailbox_edit": (404, 404, 404, 404, 404),
    "comms_mailbox_list": (200, 404, 404, 404, 404),
    "comms_mailbox_sync": (405, 404, 404, 404, 404),
    "comms_mark_handled": (405, 405, 405, 405, 405),
    "comms_recording": (404, 404, 404, 404, 404),
    "comms_telegram_create": (200, 404, 404, 404, 404),
    "comms_telegram_edit": (404, 404, 404, 404, 404),
    "comms_telegram_list": (200, 404, 404, 404, 404),
    "comms_telegram_webhook": (405, 404, 404, 404, 404),
    "comms_telephony_create": (200, 404, 404, 404, 404),
    "comms_telephony_edit": (404, 404, 404, 404, 404),
    "comms_telephony_list": (200, 404, 404, 404, 404),
    "comms_webform_create": (200, 404, 404, 404, 404),
    "comms_webform_edit": (404, 404, 404, 404, 404),
    "comms_webform_list": (200, 404, 404, 404, 404),
    "company_create": (200, 200, 200, 200, 200),
    "company_detail": (404, 404, 404, 404, 404),
    "company_edit": (404, 404, 404, 404, 404),
    "company_list": (200, 200, 200, 200, 200),
    "company_note_add": (405, 405, 405, 405, 405),
    "company_pick": (200, 200, 200, 200, 200),
    "contact_create": (200, 200, 200, 200, 200),
    "contact_detail": (404, 404, 404, 404, 404),
    "contact_edit": (404, 404, 404, 404, 404),
    "contact_list": (200, 200, 200, 200, 200),
    "contact_mark_non_target": (302, 302, 404, 302, 404),
    "contact_merge": (405, 405, 405, 405, 405),
    "contact_note_add": (405, 405, 405, 405, 405),
    "contact_pick": (200, 200, 200, 200, 200),
    "contact_restore_target": (302, 302, 404, 302, 404),
    "deal_create": (200, 200, 200, 200, 200),
    "deal_detail": (404, 404, 404, 404, 404),
    "deal_edit": (404, 404, 404, 404, 404),
    "deal_list": (200, 200, 200, 200, 200),
    "deal_move": (405, 405, 405, 405, 405),
    "deal_note_add": (405, 405, 405, 405, 405),
    "department_create": (200, 404, 404, 404, 404),
    "department_edit": (200, 404, 404, 404, 404),
    "department_list": (200, 404, 404, 404, 404),
    "documents_action": (405, 405, 405, 405, 405),
    "documents_catalog": (200, 200, 200, 200, 200),
    "documents_deal_block": (404, 404, 404, 404, 404),
    "documents_download": (404, 404, 404, 404, 404),
    "documents_generate": (405, 405, 405, 405, 405),
    "documents_items_save": (405, 405, 405, 405, 405),
    "documents_preview": (404, 404, 404, 404, 404),
    "documents_requisites": (200, 200, 200, 200, 200),
    "documents_template_file": (404, 404, 404, 404, 404),
    "documents_templates": (200, 200, 200, 200, 200),
    "home": (302, 302, 302, 302, 302),
    "integration_token_list": (200, 404, 404, 404, 404),
    "integration_token_revoke": (405, 404, 404, 404, 404),
    "kanban": (200, 200, 200, 200, 200),
    "kanban_column": (404, 404, 404, 404, 404),
    "kb_acknowledge": (405, 405, 405, 405, 405),
    "kb_article": (404, 404, 404, 404, 404),
    "kb_article_create": (200, 200, 403, 403, 403),
    "kb_article_edit": (404, 404, 404, 404, 404),
    "kb_attachment_add": (405, 405, 405, 405, 405),
    "kb_deal_checklist_mark": (405, 405, 405, 405, 405),
    "kb_deal_guidance": (404, 404, 404, 404, 404),
    "kb_document_kind": (200, 200, 200, 200, 200),
    "kb_faq_suggest": (200, 200, 200, 200, 200),
    "kb_file": (404, 404, 404, 404, 404),
    "kb_home": (200, 200, 200, 200, 200),
    "kb_misses": (200, 200, 403, 403, 403),
    "kb_preview": (405, 405, 405, 405, 405),
    "kb_remind": (405, 405, 405, 405, 405),
    "kb_search": (200, 200, 200, 200, 200),
    "kb_triage": (200, 200, 200, 200, 200),
    "kb_version": (404, 404, 404, 404, 404),
    "lead_create": (200, 200, 200, 200, 200),
    "lead_detail": (404, 404, 404, 404, 404),
    "lead_inbox": (200, 200, 200, 200, 200),
    "lead_list": (200, 200, 200, 200, 200),
    "lead_triage": (405, 405, 405, 405, 405),
    "metrics": (404, 404, 404, 404, 404),
    "my_day": (200, 200, 200, 200, 200),
    "non_target_inbox": (200, 200, 404, 200, 404),
    "notification_bell": (200, 200, 200, 200, 200),
    "notification_list": (200, 200, 200, 200, 200),
    "notification_open": (405, 405, 405, 405, 405),
    "notifications_read_all": (405, 405, 405, 405, 405),
    "ops_backup_start": (405, 404, 404, 404, 404),
    "ops_status": (200, 404, 404, 404, 404),
    "privacy_access_log": (200, 404, 404, 404, 404),
    "privacy_act_pdf": (404, 404, 404, 404, 404),
    "privacy_acts": (200, 404, 404, 404, 404),
    "privacy_breach": (404, 404, 404, 404, 404),
    "privacy_breaches": (200, 404, 404, 404, 404),
    "privacy_consent_add": (405, 405, 405, 405, 405),
    "privacy_consent_proof": (404, 404, 404, 404, 404),
    "privacy_consent_scan": (404, 404, 404, 404, 404),
    "privacy_consent_withdraw": (405, 405, 405, 405, 405),
    "privacy_consents": (200, 404, 404, 404, 404),
    "privacy_contact_destroy": (405, 404, 404, 404, 404),
    "privacy_overview": (200, 404, 404, 404, 404),
    "privacy_proposals": (200, 404, 404, 404, 404),
    "privacy_purpose": (404, 404, 404, 404, 404),
    "privacy_purpose_new": (200, 404, 404, 404, 404),
    "privacy_purposes": (200, 404, 404, 404, 404),
    "privacy_register": (200, 404, 404, 404, 404),
    "privacy_request": (404, 404, 404, 404, 404),
    "privacy_request_export": (404, 404, 404, 404, 404),
    "privacy_requests": (200, 404, 404, 404, 404),
    "production_calendar": (200, 404, 404, 404, 404),
    "profile": (200, 200, 200, 200, 200),
    "queue_create": (200, 200, 404, 404, 404),
    "queue_edit": (404, 404, 404, 404, 404),
    "queue_list": (200, 200, 404, 404, 404),
    "report_drill": (404, 404, 404, 403, 403),
    "report_export": (404, 404, 404, 403, 403),
    "report_page": (404, 404, 404, 403, 403),
    "report_plans": (200, 200, 403, 403, 403),
    "report_subscription": (405, 405, 405, 405, 405),
    "reports_index": (200, 200, 200, 403, 403),
    "routing_log": (200, 200, 404, 404, 404),
    "routing_settings": (200, 200, 404, 404, 404),
    "routing_what_if": (200, 200, 404, 404, 404),
    "schedule_list": (200, 200, 404, 404, 404),
    "search": (200, 200, 200, 200, 200),
    "search_suggest": (200, 200, 200, 200, 200),
    "task_done": (405, 405, 405, 405, 405),
    "transfer_export": (404, 404, 404, 404, 404),
    "transfer_export_download": (404, 404, 404, 404, 404),
    "transfer_export_list": (200, 200, 200, 200, 200),
    "transfer_import_cancel": (405, 405, 405, 405, 405),
    "transfer_import_detail": (404, 404, 403, 403, 403),
    "transfer_import_list": (200, 200, 403, 403, 403),
    "transfer_import_mapping": (404, 404, 403, 403, 403),
    "transfer_import_report": (404, 404, 403, 403, 403),
    "transfer_import_run": (405, 405, 405, 405, 405),
    "transfer_import_undo": (405, 405, 405, 405, 405),
    "two_factor_reset": (405, 404, 404, 404, 404),
    "two_factor_setup": (200, 404, 404, 404, 404),
    "two_factor_verify": (302, 302, 302, 302, 302),
    "user_create": (200, 404, 404, 404, 404),
    "user_edit": (200, 404, 404, 404, 404),
    "user_list": (200, 404, 404, 404, 404),
}

# Paths whose answer depends on outside state that a GET must not start (an export, a test call).
SKIPPED: set[str] = set()


def _route_key(path, name):
    return name or path


def _one_of_each_role(department):
    # The shipped production calendar may have been emptied by an earlier transactional test:
    # the calendar pages ask for day 1.
    CalendarDay.objects.get_or_create(pk=1, defaults={"date": datetime.date(2031, 1, 1), "kind": "holiday"})
    return {
        "admin": UserFactory(username="m-admin", role=Role.ADMIN, is_staff=True),
        "head_of_sales": UserFactory(username="m-head", role=Role.HEAD_OF_SALES, department=department),
        "sales_manager": UserFactory(username="m-manager", role=Role.SALES_MANAGER, department=department),
        "office_manager": UserFactory(username="m-office", role=Role.OFFICE_MANAGER),
        "approver": UserFactory(username="m-approver", role=Role.APPROVER),
    }


@pytest.fixture
def people(db, department):
    return _one_of_each_role(department)


CHECKED = [
    (path, name)
    for path, name in ROUTES
    if name not in PUBLIC and "(" not in path and "<" not in path and not path.startswith("/admin/")
]


# Paths name id 1: sequences start over so that id 1 is the first row on PostgreSQL as on SQLite.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_route_answers_every_role_as_classified(people):
    observed: dict[str, list[int]] = {}
    clients = {}
    for role, user in people.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[role] = client
    for path, name in CHECKED:
        key = _route_key(path, name)
        if key in SKIPPED:
            continue
        observed[key] = [clients[role].get(path).status_code for role in ROLES]
    if os.environ.get("OTDEL_MATRIX_PRINT"):
        for key, codes in sorted(observed.items()):
            print(f'    "{key}": ({", ".join(map(str, codes))}),')
    unclassified = sorted(set(observed) - set(EXPECTED))
    assert not unclassified, f"Routes nobody classified (add them to EXPECTED): {unclassified}"
    wrong = {
        key: (tuple(codes), EXPECTED[key]) for key, codes in observed.items() if tuple(codes) != EXPECTED[key]
    }
    assert not wrong, f"Answers differ from the table (observed, expected): {wrong}"
    errors = {key: codes for key, codes in observed.items() if any(code >= 500 for code in codes)}
    assert not errors


# Routes that only take POST (a GET answers 405 for everyone): what an empty POST answers per role.
# 400 (the form or body is refused as empty) and 404 (no such record) mean the role got past the
# permission check; 403 means it did not. Written down for the same reason as EXPECTED.
EXPECTED_POST: dict[str, tuple[int, int, int, int, int]] = {
    "api-approval-cancel": (404, 404, 404, 404, 404),
    "api-approval-decision": (404, 404, 404, 404, 404),
    "api-contact-email": (404, 404, 404, 404, 404),
    "api-contact-merge": (404, 404, 404, 404, 404),
    "api-contact-restore-target": (404, 404, 404, 404, 404),
    "api-contact-telegram": (404, 404, 404, 404, 404),
    "api-deal-checklist-mark": (404, 404, 404, 404, 404),
    "api-deal-move": (404, 404, 404, 404, 404),
    "api-department-request-status": (404, 404, 404, 404, 404),
    "api-document-regenerate": (404, 404, 404, 404, 404),
    "api-document-retry": (404, 404, 404, 404, 404),
    "api-document-send": (404, 404, 404, 404, 404),
    "api-document-template-file": (404, 403, 403, 403, 403),
    "api-import-cancel": (404, 404, 404, 404, 404),
    "api-import-start": (404, 404, 404, 404, 404),
    "api-import-undo": (404, 404, 404, 404, 404),
    "api-imports": (400, 400, 403, 403, 403),
    "api-kb-article-acknowledge": (404, 404, 404, 404, 404),
    "api-kb-article-remind": (404, 404, 404, 404, 404),
    "api-lead-triage": (404, 404, 404, 404, 404),
    "api-legal-entity": (405, 403, 403, 403, 403),
    "api-pd-consent-withdraw": (404, 404, 404, 404, 404),
    "api-pipeline-reorder": (404, 404, 403, 403, 403),
    "api-pipeline-stages": (404, 404, 403, 403, 403),
    "api-task-complete": (404, 404, 404, 404, 404),
    "api-telephony-call": (400, 400, 400, 400, 400),
    "approvals_cancel": (404, 404, 404, 404, 404),
    "approvals_decide": (404, 404, 404, 404, 404),
    "approvals_desk_save": (302, 403, 403, 403, 403),
    "approvals_document_send": (404, 404, 404, 404, 404),
    "approvals_request_create": (404, 404, 404, 404, 404),
    "approvals_request_status": (404, 404, 404, 404, 404),
    "comms_contact_call": (404, 404, 404, 404, 404),
    "comms_mark_handled": (404, 404, 404, 404, 404),
    "comms_ringing_contact": (400, 400, 400, 400, 400),
    "company_note_add": (404, 404, 404, 404, 404),
    "contact_merge": (404, 404, 404, 404, 404),
    "contact_note_add": (404, 404, 404, 404, 404),
    "custom_values_edit": (404, 404, 404, 404, 404),
    "deal_move": (404, 404, 404, 404, 404),
    "deal_note_add": (404, 404, 404, 404, 404),
    "deal_quick_add": (404, 404, 404, 403, 403),
    "documents_action": (404, 404, 404, 404, 404),
    "documents_generate": (404, 404, 404, 404, 404),
    "documents_items_save": (404, 404, 404, 404, 404),
    "documents_product_active": (404, 404, 403, 403, 403),
    "documents_template_active": (404, 403, 403, 403, 403),
    "documents_template_version": (404, 403, 403, 403, 403),
    "kb_acknowledge": (404, 404, 404, 404, 404),
    "kb_attachment_add": (404, 404, 404, 404, 404),
    "kb_deal_checklist_mark": (404, 404, 404, 404, 404),
    "kb_preview": (200, 200, 200, 200, 200),
    "kb_remind": (404, 404, 404, 404, 404),
    "lead_triage": (404, 404, 404, 404, 404),
    "notification_open": (404, 404, 404, 404, 404),
    "notifications_read_all": (302, 302, 302, 302, 302),
    "privacy_consent_add": (404, 404, 404, 404, 404),
    "privacy_consent_withdraw": (404, 404, 404, 404, 404),
    "report_subscription": (302, 302, 302, 403, 403),
    "settings_pipeline_create": (302, 302, 403, 403, 403),
    "settings_pipeline_save": (404, 404, 403, 403, 403),
    "settings_stage_add": (404, 404, 403, 403, 403),
    "settings_stage_delete": (404, 404, 403, 403, 403),
    "settings_stage_save": (404, 404, 403, 403, 403),
    "settings_stages_reorder": (404, 404, 403, 403, 403),
    "task_done": (404, 404, 404, 404, 404),
    "transfer_import_cancel": (404, 404, 403, 403, 403),
    "transfer_import_run": (404, 404, 403, 403, 403),
    "transfer_import_undo": (404, 404, 403, 403, 403),
}


@pytest.fixture
def post_people(db, department, settings, tmp_path):
    settings.OTDEL_BACKUP_DIR = str(tmp_path / "backups")  # the administrator's POST runs a real backup
    # Paths name id 1: that user is nobody's session, so a POST that deactivates, resets or edits
    # "user 1" does not sign out the role asking next.
    UserFactory(username="m-target", role=Role.SALES_MANAGER)
    return _one_of_each_role(department)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_route_refuses_a_post_from_a_role_it_refuses(post_people):
    """An empty POST by every role: never a 500, refused wherever the GET is, and as written for
    the POST-only routes. The roles ask in reverse order, the administrator last, so whatever an
    administrator's POST changes cannot open a door for a role asked after it."""
    clients = {}
    for role, user in post_people.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[role] = client
    observed: dict[str, list[int]] = {}
    for path, name in CHECKED:
        key = _route_key(path, name)
        codes = {role: clients[role].post(path).status_code for role in reversed(ROLES)}
        observed[key] = [codes[role] for role in ROLES]
    post_only = {key for key, codes in EXPECTED.items() if set(codes) == {405}}
    if os.environ.get("OTDEL_MATRIX_PRINT"):
        for key, codes in sorted(observed.items()):
            if key in post_only:
                print(f'    "{key}": ({", ".join(map(str, codes))}),')
    errors = {key: codes for key, codes in observed.items() if any(code >= 500 for code in codes)}
    assert not errors, f"Server errors on an empty POST: {errors}"
    let_in = {
        (key, role): code
        for key, codes in observed.items()
        for role, get_code, code in zip(ROLES, EXPECTED.get(key, ()), codes, strict=False)
        if get_code == 403 and code not in (403, 404, 405)
    }
    assert not let_in, f"A POST gets past a permission its GET enforces: {let_in}"
    unclassified = sorted(post_only - set(EXPECTED_POST))
    assert not unclassified, f"POST-only routes nobody classified (add them to EXPECTED_POST): {unclassified}"
    wrong = {
        key: (tuple(observed[key]), EXPECTED_POST[key])
        for key in post_only
        if tuple(observed[key]) != EXPECTED_POST[key]
    }
    assert not wrong, f"POST answers differ from the table (observed, expected): {wrong}"


@pytest.mark.django_db
def test_the_django_admin_is_for_staff_only(people):
    for role, user in people.items():
        client = Client()
        client.force_login(user)
        status = client.get("/admin/").status_code
        assert status == (200 if role == "admin" else 302), (role, status)

"""Administration of the privacy app: operator details, what purposes cover, the registers (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otdel.privacy.models import (
    BreachIncident,
    DestructionAct,
    PDAccessLog,
    PrivacySettings,
    PurposeRule,
    SubjectRequest,
)


@admin.register(PrivacySettings)
class PrivacySettingsAdmin(admin.ModelAdmin):
    list_display = [
        "operator_name",
        "information_system",
        "officer",
        "lead_retention_months",
        "client_retention_months",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PrivacySettings.objects.exists()


@admin.register(PurposeRule)
class PurposeRuleAdmin(admin.ModelAdmin):
    list_display = ["purpose", "legal_basis", "uses", "retention_months"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PDAccessLog)
class PDAccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user_name", "action", "contact", "query", "row_count"]
    list_filter = ["action"]


@admin.register(DestructionAct)
class DestructionActAdmin(ReadOnlyAdmin):
    list_display = ["number", "subject_name", "reason", "destroyed_at", "keep_until"]


@admin.register(SubjectRequest)
class SubjectRequestAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "requester", "received_at", "due_at", "status"]
    list_filter = ["kind", "status"]


@admin.register(BreachIncident)
class BreachIncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "found_at", "notice_24h_sent_at", "notice_72h_sent_at"]

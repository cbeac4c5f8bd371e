"""Administration of report data: plans and subscriptions editable, the stage history read-only."""

from typing import Any

from django.contrib import admin

from otdel.reports.models import ManagerPlan, ReportSubscription, StageVisit


@admin.register(ManagerPlan)
class ManagerPlanAdmin(admin.ModelAdmin):
    list_display = ("user", "month", "amount", "deals", "updated_by", "updated_at")
    list_filter = ("month",)
    raw_id_fields = ("user", "updated_by")


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "frequency", "is_active", "last_period_end", "last_sent_at")
    list_filter = ("frequency", "is_active")
    raw_id_fields = ("user",)


@admin.register(StageVisit)
class StageVisitAdmin(admin.ModelAdmin):
    """A projection of the change log (``manage.py reports_rebuild``): looked at, never edited."""

    list_display = ("deal", "stage", "entered_at", "left_at", "seconds", "first")
    raw_id_fields = ("deal",)
    list_select_related = ("deal", "stage")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

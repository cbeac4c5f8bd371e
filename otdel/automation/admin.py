from django.contrib import admin

from otdel.automation.models import Rule, RuleRun, SlaPolicy, SlaTimer


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "stage", "delay_minutes", "working_time", "is_active", "paused_reason"]
    list_filter = ["is_active", "event"]


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin):
    list_display = ["rule", "subject_type", "subject_id", "due_at", "outcome", "finished_at", "worker"]
    list_filter = ["outcome"]
    readonly_fields = [f.name for f in RuleRun._meta.fields]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "target", "minutes", "working_time", "warn_at_percent", "is_active"]


@admin.register(SlaTimer)
class SlaTimerAdmin(admin.ModelAdmin):
    list_display = ["policy", "key", "started_at", "due_at", "state", "met_at", "breached_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in SlaTimer._meta.fields]

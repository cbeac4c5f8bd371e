"""Django admin for CRM reference data (pipelines, stages, lost reasons) and raw records."""

from django.contrib import admin

from otdel.crm.models import Company, Contact, Deal, Identity, Lead, LostReason, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ("order", "name", "kind", "probability", "color")
    ordering = ("order",)


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_default", "is_active")
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_active")


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("full_name", "company", "responsible", "non_target")
    list_filter = ("non_target",)
    search_fields = ("full_name", "identities__value")
    raw_id_fields = ("company", "responsible", "merged_into")
    inlines = [IdentityInline]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "inn", "responsible")
    search_fields = ("name", "inn")


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ("title", "pipeline", "stage", "responsible", "amount")
    list_filter = ("pipeline", "stage")
    raw_id_fields = ("contact", "company", "responsible")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("id", "contact", "source", "channel", "status", "verdict", "responsible")
    list_filter = ("source", "channel", "status", "verdict")
    raw_id_fields = ("contact", "responsible", "deal", "duplicate_of", "triaged_by")

from django.contrib import admin

from otdel.documents.models import Document, DocumentTemplate, LegalEntity, NumberingSequence, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "price", "vat_rate", "is_active"]
    search_fields = ["sku", "name"]


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ["name", "inn", "is_default"]


@admin.register(NumberingSequence)
class NumberingSequenceAdmin(admin.ModelAdmin):
    list_display = ["code", "pattern", "reset", "legal_entity"]


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "numbering", "is_active"]
    readonly_fields = ["file", "sha256", "size", "variables"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "deal", "status", "current_version", "deleted_at"]
    list_filter = ["status", "kind"]
    readonly_fields = ["deal", "template", "number", "status", "error", "current_version"]

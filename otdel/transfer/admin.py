from django.contrib import admin

from otdel.transfer.models import ExportLog, ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "file_name",
        "kind",
        "status",
        "dry_run",
        "total",
        "created",
        "errors",
        "created_at",
    ]
    list_filter = ["status", "kind", "dry_run"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    list_display = ["at", "user_name", "kind", "file_format", "rows", "status"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ExportLog._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

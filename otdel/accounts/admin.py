from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import Department, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "department", "extension", "is_active")
    list_filter = ("role", "department", "is_active")
    search_fields = ("username", "full_name", "email", "extension")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),  # type: ignore[misc]
        (
            _("Otdel"),
            {
                "fields": (
                    "full_name",
                    "role",
                    "department",
                    "extension",
                    "phone",
                    "language",
                    "work_days",
                    "work_start",
                    "work_end",
                )
            },
        ),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Otdel"), {"fields": ("full_name", "role", "department", "extension")}),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "head")

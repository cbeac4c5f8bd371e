from django.contrib import admin

from otdel.kb.models import Article, ArticleVersion, ChecklistItem, SearchMiss, Section, Tag


class ChecklistInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "published_number", "owner", "review_at"]
    list_filter = ["kind", "status", "language", "section"]
    search_fields = ["title"]
    inlines = [ChecklistInline]
    readonly_fields = ["published_number", "published_at"]


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    list_display = ["article", "number", "author", "created_at"]
    readonly_fields = ["article", "number", "title", "body", "checklist", "author", "created_at"]


admin.site.register(Section)
admin.site.register(Tag)


@admin.register(SearchMiss)
class SearchMissAdmin(admin.ModelAdmin):
    list_display = ["query", "count", "last_at", "resolved"]

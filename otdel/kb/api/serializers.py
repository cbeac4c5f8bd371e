"""Serializers of the knowledge-base API: article output shapes and inputs, search results, guidance."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from otdel.accounts.models import Department, Role, User
from otdel.api.base import ScopedPrimaryKeyRelatedField
from otdel.crm.models import Channel, LeadSource, Stage
from otdel.kb.models import Article, ArticleVersion, Section
from otdel.kb.text import render_markdown


class ChecklistItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(max_length=300)
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]


class ArticleSerializer(serializers.ModelSerializer):
    section = serializers.CharField(source="section.name", default=None, read_only=True)
    tags = serializers.SerializerMethodField()
    stages: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    ack_departments: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    checklist = ChecklistItemSerializer(many=True, read_only=True)
    html = serializers.SerializerMethodField(help_text="The body rendered from Markdown and sanitized")
    version = serializers.IntegerField(source="published_number", read_only=True)
    edit_version = serializers.IntegerField(
        source="version", read_only=True, help_text="Send back as `expected_version` to refuse a stale edit"
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "html",
            "language",
            "status",
            "section",
            "tags",
            "owner",
            "review_at",
            "version",
            "edit_version",
            "published_at",
            "stages",
            "sources",
            "channels",
            "document_kinds",
            "for_triage",
            "checklist",
            "ack_roles",
            "ack_departments",
            "updated_at",
        ]

    def get_tags(self, article: Article) -> list[str]:
        return [tag.name for tag in article.tags.all()]

    def get_html(self, article: Article) -> str:
        return render_markdown(article.body)


class ArticleListSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="published_number", read_only=True)

    class Meta:
        model = Article
        fields = ["id", "kind", "title", "status", "language", "owner", "version", "review_at", "updated_at"]


class ArticleInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Article.Kind.choices, default=Article.Kind.REGULATION)
    title = serializers.CharField(max_length=255)
    body = serializers.CharField(allow_blank=True, required=False, default="")
    status = serializers.ChoiceField(choices=Article.Status.choices, default=Article.Status.DRAFT)
    language = serializers.ChoiceField(choices=Article.Language.choices, required=False)
    section = serializers.CharField(max_length=120, allow_blank=True, allow_null=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    review_at = serializers.DateField(required=False, allow_null=True)
    stages = serializers.ListField(
        child=ScopedPrimaryKeyRelatedField(queryset=Stage.objects.all()), required=False
    )
    sources = serializers.ListField(child=serializers.ChoiceField(choices=LeadSource.choices), required=False)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), required=False)
    document_kinds = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    for_triage = serializers.BooleanField(required=False)
    checklist = ChecklistItemSerializer(many=True, required=False)
    ack_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=[c for c in Role.choices if c[0] != Role.INTEGRATION]),
        required=False,
    )
    ack_departments = serializers.ListField(
        child=serializers.PrimaryKeyRelatedField(queryset=Department.objects.all()), required=False
    )
    expected_version = serializers.IntegerField(
        required=False, help_text=_("The edit_version you read; a stale one is refused with 409")
    )

    def validate_section(self, value: str | None) -> Section | None:
        if not value:
            return None
        section, _created = Section.objects.get_or_create(name=value.strip())
        return section


class ArticleVersionSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = ArticleVersion
        fields = ["number", "title", "body", "checklist", "author", "created_at"]

    def get_author(self, version: ArticleVersion) -> str | None:
        return version.author.get_full_name() if version.author else None


class DiffLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["same", "added", "removed"])
    text = serializers.CharField()


class ArticleVersionDetailSerializer(ArticleVersionSerializer):
    html = serializers.SerializerMethodField()
    diff = serializers.SerializerMethodField(help_text="Line diff of the body against the previous version")

    class Meta(ArticleVersionSerializer.Meta):
        fields = [*ArticleVersionSerializer.Meta.fields, "html", "diff"]

    def get_html(self, version: ArticleVersion) -> str:
        return render_markdown(version.body)

    def get_diff(self, version: ArticleVersion) -> list[dict[str, Any]]:
        previous = self.context.get("previous")
        from otdel.kb.text import line_diff

        return [
            {"kind": line.kind, "text": line.text}
            for line in line_diff(previous.body if previous else "", version.body)
        ]


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="article.pk")
    kind = serializers.CharField(source="article.kind")
    title = serializers.CharField(source="article.title")
    snippet = serializers.CharField(help_text="Plain text, HTML-escaped, hits wrapped in <mark>")
    score = serializers.FloatField()


class GuidanceArticleSerializer(serializers.ModelSerializer):
    html = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="published_number")

    class Meta:
        model = Article
        fields = ["id", "kind", "title", "version", "html"]

    def get_html(self, article: Article) -> str:
        return render_markdown(article.body)


class GuidanceChecklistSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField(source="item.text")
    required = serializers.BooleanField(source="item.required")  # type: ignore[assignment]
    done = serializers.BooleanField()
    article = serializers.IntegerField(source="item.article_id")


class ChecklistMarkInputSerializer(serializers.Serializer):
    done = serializers.BooleanField()


class AcknowledgementsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    acknowledged = serializers.ListField(child=serializers.IntegerField())
    pending = serializers.ListField(child=serializers.IntegerField())


class SearchMissSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    query = serializers.CharField()
    count = serializers.IntegerField()
    last_at = serializers.DateTimeField()
    resolved = serializers.BooleanField()


class AdherenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="key", allow_null=True)
    name = serializers.CharField()
    exits = serializers.IntegerField()
    complete = serializers.IntegerField()
    share = serializers.FloatField(help_text="complete / exits")

"""Input and output shapes of the import and export API (CONTRACTS.md, "Import and export")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from otdel.core import jsonsafe
from otdel.crm.models import Pipeline
from otdel.transfer.models import Dedupe, ExportLog, ImportJob, ImportKind


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    mapping = serializers.CharField(
        required=False, allow_blank=True, help_text='JSON {"<header or column index>": "<target>"}'
    )
    dry_run = serializers.BooleanField(default=True)
    dedupe = serializers.ChoiceField(choices=Dedupe.choices, default=Dedupe.FILL)
    skip_invalid = serializers.BooleanField(default=False)
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, allow_null=True
    )

    def validate_mapping(self, value: str) -> dict[str, str] | None:
        if not value:
            return None
        try:
            data: Any = jsonsafe.loads(value)
        except ValueError as exc:
            raise serializers.ValidationError(_("The mapping must be a JSON object.")) from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise serializers.ValidationError(_("The mapping must be a JSON object of column: field."))
        return {str(k): v for k, v in data.items()}


class ImportStartInputSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Line of the file, the header being line 1")
    field = serializers.CharField()
    message = serializers.CharField()


class ImportSerializer(serializers.ModelSerializer):
    errors = serializers.SerializerMethodField()  # type: ignore[assignment]
    error_count = serializers.IntegerField(source="errors", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "status",
            "kind",
            "layout",
            "dry_run",
            "dedupe",
            "file_name",
            "total",
            "created",
            "updated",
            "merged",
            "skipped",
            "error_count",
            "errors",
            "message",
            "progress",
            "created_at",
            "finished_at",
        ]

    def get_errors(self, job: ImportJob) -> list[dict[str, Any]]:
        rows = job.rows.filter(outcome="error").order_by("row")[:1000]
        return [{"row": r.row, "field": r.field, "message": r.message} for r in rows]

    def get_progress(self, job: ImportJob) -> dict[str, Any]:
        from otdel.transfer.selectors import progress

        return progress(job)


class ExportSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = ExportLog
        fields = ["id", "status", "kind", "file_format", "filters", "rows", "at", "finished_at", "download"]

    def get_download(self, log: ExportLog) -> str | None:
        from django.urls import reverse

        if log.status != ExportLog.Status.DONE or not log.file:
            return None
        return reverse("transfer_export_download", args=[log.pk])

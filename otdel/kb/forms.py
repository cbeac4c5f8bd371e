"""The article editor form: Markdown text, links to stages/sources/channels, checklist, readers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otdel.accounts.models import Department, Role, User
from otdel.crm.models import Channel, LeadSource, Stage
from otdel.kb.models import Article, Section
from otdel.web.forms import StyledForm


def checklist_from_text(text: str) -> list[dict[str, Any]]:
    """One item per line; a line starting with "!" is required to leave the stage."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        required = line.startswith("!")
        items.append({"text": line.lstrip("!").strip(), "required": required})
    return [item for item in items if item["text"]]


def checklist_to_text(article: Article) -> str:
    return "\n".join(("!" if item.required else "") + item.text for item in article.checklist.all())


class ArticleForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=Article.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=255)
    body = forms.CharField(
        label=_("Text (Markdown)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "class": "font-monospace"}),
        help_text=_("**bold**, *italic*, # heading, - list, 1. numbered list, [link](https://…)"),
    )
    status = forms.ChoiceField(label=_("Status"), choices=Article.Status.choices)
    language = forms.ChoiceField(label=_("Language"), choices=Article.Language.choices)
    section = forms.ModelChoiceField(label=_("Section"), queryset=Section.objects.all(), required=False)
    new_section = forms.CharField(label=_("…or a new section"), max_length=120, required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas."))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    review_at = forms.DateField(
        label=_("Review by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    stages = forms.ModelMultipleChoiceField(
        label=_("Pipeline stages"),
        queryset=Stage.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    sources = forms.MultipleChoiceField(
        label=_("Lead sources"),
        choices=LeadSource.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    document_kinds = forms.CharField(
        label=_("Document kinds"),
        required=False,
        help_text=_("Codes separated by commas, e.g. contract, invoice."),
    )
    for_triage = forms.BooleanField(label=_("Show on the lead inbox (triage regulation)"), required=False)
    checklist = forms.CharField(
        label=_("Checklist"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One item per line. Start a line with “!” to make the item required to leave the stage."),
    )
    ack_roles = forms.MultipleChoiceField(
        label=_("Must confirm reading: roles"),
        choices=[c for c in Role.choices if c[0] != Role.INTEGRATION],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ack_departments = forms.ModelMultipleChoiceField(
        label=_("Must confirm reading: departments"),
        queryset=Department.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, stages: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION)  # type: ignore[attr-defined]
        self.fields["stages"].queryset = stages if stages is not None else Stage.objects.none()  # type: ignore[attr-defined]
        self.fields["stages"].label_from_instance = lambda stage: f"{stage.pipeline.name}: {stage.name}"  # type: ignore[attr-defined]
        self.fields["body"].widget.attrs["data-testid"] = "kb-body"

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        section = data.get("section")
        if data.get("new_section"):
            section, _created = Section.objects.get_or_create(name=data["new_section"].strip())
        return {
            "kind": data["kind"],
            "title": data["title"],
            "body": data.get("body") or "",
            "status": data["status"],
            "language": data["language"],
            "section": section,
            "tags": [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()],
            "owner": data.get("owner"),
            "review_at": data.get("review_at"),
            "stages": list(data.get("stages") or []),
            "sources": list(data.get("sources") or []),
            "channels": list(data.get("channels") or []),
            "document_kinds": [k.strip() for k in (data.get("document_kinds") or "").split(",") if k.strip()],
            "for_triage": bool(data.get("for_triage")),
            "checklist": checklist_from_text(data.get("checklist") or ""),
            "ack_roles": list(data.get("ack_roles") or []),
            "ack_departments": list(data.get("ack_departments") or []),
        }

    @staticmethod
    def initial_for(article: Article) -> dict[str, Any]:
        return {
            "kind": article.kind,
            "title": article.title,
            "body": article.body,
            "status": article.status,
            "language": article.language,
            "section": article.section_id,
            "tags": ", ".join(t.name for t in article.tags.all()),
            "owner": article.owner_id,
            "review_at": article.review_at,
            "stages": list(article.stages.values_list("pk", flat=True)),
            "sources": article.sources,
            "channels": article.channels,
            "document_kinds": ", ".join(article.document_kinds or []),
            "for_triage": article.for_triage,
            "checklist": checklist_to_text(article),
            "ack_roles": article.ack_roles,
            "ack_departments": list(article.ack_departments.values_list("pk", flat=True)),
            "version": article.version,
        }

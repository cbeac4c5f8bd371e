"""Personal data in the kb app (read by ``otdel.privacy.register``): regulations are the company's
own texts; search queries that found nothing may quote a client, so they count as free text."""

from otdel.privacy.register import FREE_TEXT, SECURITY

PD_REGISTER = {
    "kb.Section": {"not_pd": ["name", "order"]},
    "kb.Tag": {"not_pd": ["name"]},
    "kb.Article": {
        "not_pd": [
            "kind",
            "title",
            "body",
            "language",
            "status",
            "section",
            "owner",
            "review_at",
            "review_reminded_for",
            "published_number",
            "published_at",
            "sources",
            "channels",
            "document_kinds",
            "for_triage",
            "ack_roles",
            "tags",
            "stages",
            "ack_departments",
        ]
    },
    "kb.ArticleVersion": {"not_pd": ["article", "number", "title", "body", "checklist", "author"]},
    "kb.ChecklistItem": {"not_pd": ["article", "text", "required", "order"]},
    "kb.DealChecklistMark": {"not_pd": ["deal", "item", "done", "by", "at"]},
    "kb.StageExit": {
        "not_pd": ["deal", "stage", "responsible", "items_total", "items_done", "complete", "at"]
    },
    "kb.Acknowledgement": {"not_pd": ["article", "user", "number", "at"]},
    "kb.ArticleIndex": {"not_pd": ["article", "title_lemmas", "body_lemmas", "plain"]},
    "kb.SearchMiss": {
        "pd": {"query": (FREE_TEXT, SECURITY)},
        "not_pd": ["count", "first_at", "last_at", "resolved"],
    },
    "kb.Attachment": {"not_pd": ["article", "file", "name", "uploaded_by"]},
}

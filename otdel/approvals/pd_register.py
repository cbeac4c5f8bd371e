"""Personal data in the approvals app (read by ``otdel.privacy.register``): routes name employees;
decisions, comments and requests are free text about a deal and may quote the client; request
attachments are files the client may have sent."""

from otdel.privacy.register import FILES, FREE_TEXT, SALES

PD_REGISTER = {
    "approvals.ApprovalRoute": {"not_pd": ["name", "document_kinds", "is_active", "created_by"]},
    "approvals.RouteStep": {
        "not_pd": [
            "route",
            "position",
            "name",
            "mode",
            "quorum",
            "sequential",
            "approvers",
            "deadline_hours",
            "min_amount",
        ]
    },
    "approvals.Approval": {
        "not_pd": [
            "document",
            "route",
            "round",
            "status",
            "owner",
            "document_version",
            "approved_version",
            "finished_at",
        ]
    },
    "approvals.ApprovalStage": {
        "not_pd": [
            "approval",
            "position",
            "name",
            "mode",
            "quorum",
            "sequential",
            "approvers",
            "deadline_hours",
            "status",
            "started_at",
            "due_at",
            "finished_at",
        ]
    },
    "approvals.ApprovalTask": {
        "pd": {"comment": (FREE_TEXT, SALES)},
        "not_pd": [
            "stage",
            "position",
            "assignee",
            "on_behalf_of",
            "reason",
            "replaced",
            "decision",
            "decided_at",
        ],
    },
    "approvals.ApprovalEvent": {
        "pd": {"text": (FREE_TEXT, SALES)},
        "not_pd": ["approval", "deal", "kind", "actor", "at"],
    },
    "approvals.DepartmentDesk": {"not_pd": ["department", "queue", "sla_hours"]},
    "approvals.DepartmentRequest": {
        "pd": {"title": (FREE_TEXT, SALES), "body": (FREE_TEXT, SALES), "comment": (FREE_TEXT, SALES)},
        "not_pd": ["department", "deal", "due_at", "status", "assignee", "author", "closed_at"],
    },
    "approvals.RequestAttachment": {
        "pd": {"file": (FILES, SALES), "filename": (FILES, SALES)},
        "not_pd": ["request", "content_type", "size", "sha256"],
    },
}

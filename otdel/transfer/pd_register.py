"""Personal data in the transfer app (read by ``otdel.privacy.register``): uploaded files, export
files and row messages quote the people imported or exported; export logs name who exported what."""

from otdel.privacy.register import CONTACT_DETAILS, EMPLOYEE, FREE_TEXT, SALES, SECURITY

PD_REGISTER = {
    "transfer.ImportJob": {
        "pd": {"file": (CONTACT_DETAILS, SALES), "message": (FREE_TEXT, SALES)},
        "not_pd": [
            "created_by",
            "kind",
            "layout",
            "file_name",
            "file_format",
            "encoding",
            "delimiter",
            "headers",
            "mapping",
            "value_maps",
            "pipeline",
            "dedupe",
            "dry_run",
            "skip_invalid",
            "route_owners",
            "status",
            "total",
            "last_row",
            "done_rows",
            "created",
            "updated",
            "merged",
            "skipped",
            "errors",
            "cancel_requested",
            "started_at",
            "heartbeat_at",
            "run_started_at",
            "run_started_rows",
            "finished_at",
            "undone_at",
        ],
    },
    "transfer.ImportRow": {
        "pd": {"message": (FREE_TEXT, SALES)},
        "not_pd": ["job", "row", "outcome", "field", "records"],
    },
    "transfer.ExportLog": {
        "pd": {
            "file": (CONTACT_DETAILS, SALES),
            "filters": (FREE_TEXT, SECURITY),
            "user_name": (EMPLOYEE, SECURITY),
        },
        "not_pd": ["at", "user", "kind", "file_format", "rows", "status", "finished_at"],
    },
}

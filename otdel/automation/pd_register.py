"""Personal data in automation's rules, runs and SLA clocks (read by ``otdel.privacy.register``).

Rules and policies are settings written by the head of sales; runs hold event ids and an outcome
line that may name an employee (who a lead was handed to); timers hold ids and times.
"""

from otdel.privacy.register import EMPLOYEE, SALES, STAFF

PD_REGISTER = {
    "automation.Rule": {
        "not_pd": [
            "name",
            "is_active",
            "event",
            "trigger",
            "conditions",
            "delay_minutes",
            "working_time",
            "actions",
            "pipeline",
            "stage",
            "paused_reason",
            "created_by",
        ]
    },
    "automation.RuleRun": {
        "pd": {"reason": (EMPLOYEE, SALES)},
        "not_pd": [
            "rule",
            "subject_type",
            "subject_id",
            "occurrence",
            "event",
            "payload",
            "due_at",
            "outcome",
            "finished_at",
            "worker",
        ],
    },
    "automation.SlaPolicy": {
        "not_pd": [
            "name",
            "is_active",
            "target",
            "applies_to",
            "minutes",
            "working_time",
            "warn_at_percent",
            "on_warn",
            "on_breach",
        ]
    },
    "automation.SlaTimer": {
        "not_pd": [
            "policy",
            "lead",
            "deal",
            "person",
            "key",
            "started_at",
            "warn_at",
            "due_at",
            "state",
            "met_at",
            "breached_at",
            "check_at",
            "task",
        ]
    },
    "automation.TaskOverdueMark": {"not_pd": ["task", "at"]},
    # The payload names the record and event ids only; URL and secret are settings.
    "automation.WebhookDelivery": {
        "not_pd": [
            "key",
            "rule",
            "run",
            "url",
            "secret",
            "body",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status",
            "last_error",
            "delivered_at",
        ]
    },
    "automation.NotificationSettings": {
        "pd": {"telegram_chat_id": (EMPLOYEE, STAFF)},
        "not_pd": ["user", "channels", "remind_before_minutes", "telegram_bot", "telegram_link_code"],
    },
    "automation.NotificationDelivery": {
        "not_pd": ["notification", "channel", "state", "attempts", "next_attempt_at", "sent_at", "error"]
    },
    "automation.EventOutbox": {
        "not_pd": ["event", "payload", "subject_type", "subject_id", "occurrence", "created_at"]
    },
}

"""Personal data in automation's rules, runs and SLA clocks (read by ``otdel.privacy.register``).

Rules and policies are settings written by the head of sales; runs hold event ids and an outcome
line that may name an employee (who a lead was handed to); timers hold ids and times.
"""

from otdel.privacy.register import EMPLOYEE, SALES

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
            "key",
            "started_at",
            "warn_at",
            "due_at",
            "state",
            "met_at",
            "breached_at",
            "check_at",
        ]
    },
    "automation.TaskOverdueMark": {"not_pd": ["task", "at"]},
}

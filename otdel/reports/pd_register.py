"""Personal data in the reports app (read by ``otdel.privacy.register``): none; stage history holds
ids, times and durations, plans hold amounts per employee."""

PD_REGISTER = {
    "reports.StageVisit": {
        "not_pd": ["deal", "pipeline", "stage", "entered_at", "left_at", "seconds", "first", "change_id"]
    },
    "reports.ManagerPlan": {"not_pd": ["user", "month", "amount", "deals", "updated_by"]},
    "reports.ReportSubscription": {
        "not_pd": ["user", "frequency", "is_active", "last_period_end", "last_sent_at"]
    },
}

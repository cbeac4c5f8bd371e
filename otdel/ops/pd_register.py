"""Personal data in the ops app (read by ``otdel.privacy.register``): none; heartbeats, leases,
backup and restore records hold times, sizes and checksums (backups themselves hold everything, and
are listed in docs/privacy.md)."""

PD_REGISTER = {
    "ops.Heartbeat": {"not_pd": ["name", "beat_at", "detail"]},
    "ops.SchedulerLease": {"not_pd": ["name", "holder", "acquired_at", "renewed_at", "expires_at"]},
    "ops.Backup": {
        "not_pd": [
            "started_at",
            "finished_at",
            "status",
            "trigger",
            "location",
            "size",
            "sha256",
            "manifest",
            "error",
        ]
    },
    "ops.RestoreRecord": {"not_pd": ["restored_at", "archive", "archive_created_at", "actor", "detail"]},
}

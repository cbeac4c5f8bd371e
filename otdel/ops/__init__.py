"""Running Otdel for real: backups and restore, health checks, metrics, the scheduler lock."""

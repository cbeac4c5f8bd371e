"""What ``load_demo`` wrote, so ``remove_demo`` deletes exactly that and nothing of the real data."""

from __future__ import annotations

from django.db import models


class DemoManifest(models.Model):
    """One row per demo load: per table, the rows the load added (a range of integer keys, or the
    keys themselves for the few tables keyed otherwise)."""

    loaded_at = models.DateTimeField(auto_now_add=True)
    rows = models.JSONField(default=dict)

    class Meta:
        ordering = ["-loaded_at"]

    def __str__(self) -> str:
        return f"demo {self.loaded_at:%Y-%m-%d %H:%M}"

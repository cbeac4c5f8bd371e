"""What the server pushes to open browser tabs: one row per message and recipient, kept minutes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class LiveEvent(models.Model):
    """A message for the open tabs of one user (e.g. "a call rings for you"), read by ``live.hub``.

    The auto-increment id is the cursor every live process reads forward from, and the SSE event id
    a reconnecting tab resumes after. Rows go after ``live.tasks.KEEP_MINUTES``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    # What the message is about (e.g. ``call:<provider>:<call id>``): later messages of the same
    # subject go to whoever got the earlier ones.
    topic = models.CharField(max_length=300, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "id"], name="live_event_user_id")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"

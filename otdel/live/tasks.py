"""Background jobs of the live app: old pushed messages are deleted."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task

from otdel.core.scheduler import register_periodic
from otdel.live.models import LiveEvent

# A tab that reconnects after a longer break reloads what it shows; older messages serve no one.
KEEP_MINUTES = 30


@task()
def live_events_prune() -> int:
    """Delete pushed messages older than ``KEEP_MINUTES``; returns how many went."""
    cutoff = timezone.now() - datetime.timedelta(minutes=KEEP_MINUTES)
    return LiveEvent.objects.filter(created_at__lt=cutoff).delete()[0]


register_periodic("live.events_prune", 10 * 60, live_events_prune)

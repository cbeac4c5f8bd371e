"""Writing messages for open browser tabs (``live_publish``); ``live.hub`` delivers them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from otdel.live.models import LiveEvent


def live_publish(*, user_ids: Iterable[int], kind: str, data: dict[str, Any], topic: str = "") -> int:
    """Push ``data`` to every open tab of each user; visible once the current transaction commits.

    Returns how many users it was sent to. Nothing is sent to nobody (an empty ``user_ids``).
    """
    users = sorted({int(pk) for pk in user_ids if pk})
    LiveEvent.objects.bulk_create(
        [LiveEvent(user_id=pk, kind=kind, topic=topic[:300], data=data) for pk in users]
    )
    return len(users)


def live_topic_users(topic: str) -> set[int]:
    """Who got messages about ``topic`` so far (e.g. everyone a call rang for)."""
    if not topic:
        return set()
    return set(LiveEvent.objects.filter(topic=topic[:300]).values_list("user_id", flat=True))

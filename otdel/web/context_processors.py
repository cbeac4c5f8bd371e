"""Template context shared by every page: the navigation for the user's role."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest

from otdel.accounts.twofactor import second_factor_pending
from otdel.automation.selectors import notification_unread_count
from otdel.automation.views import BELL_POLL_SECONDS


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    return {
        "nav_user_role": user.role,
        # Counted only where a page shows the bell (templates call callables), not for partials.
        "nav_unread_notifications": functools.partial(notification_unread_count, user=user),
        "nav_notification_poll": BELL_POLL_SECONDS,
        # Until an administrator's second factor is confirmed, the page opens no live stream.
        "nav_live": not second_factor_pending(user),
    }

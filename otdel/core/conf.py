"""Tunables read at run time: a Django setting of that name, else the environment, else a default."""

from __future__ import annotations

import os

from django.conf import settings


def int_setting(name: str, default: int) -> int:
    """E.g. ``int_setting("OTDEL_MAIL_TIMEOUT", 30)``; a value that is not a whole number gives ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

"""Times as people say them: "just now", "5 minutes ago" (``{% load when %}{{ moment|ago }}``)."""

from __future__ import annotations

import datetime

from django import template
from django.utils import formats, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def ago(moment: datetime.datetime | None) -> str:
    """Under a minute is "just now" (timesince alone says "0 minutes")."""
    if not moment:
        return ""
    if timezone.now() - moment < datetime.timedelta(minutes=1):
        return _("just now")
    return _("%(age)s ago") % {"age": timesince(moment, depth=1)}


@register.filter
def is_past(moment: datetime.datetime | None) -> bool:
    return bool(moment and moment < timezone.now())


@register.filter
def short_moment(moment: datetime.datetime | None) -> str:
    """A due time in few characters: "today 10:00", "tomorrow 09:30", "3 Dec 10:00"."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    today = timezone.localdate()
    time = formats.time_format(local, "H:i")
    if local.date() == today:
        return _("today %(time)s") % {"time": time}
    if local.date() == today + datetime.timedelta(days=1):
        return _("tomorrow %(time)s") % {"time": time}
    if local.date() == today - datetime.timedelta(days=1):
        return _("yesterday %(time)s") % {"time": time}
    return formats.date_format(local, "j b H:i" if local.year == today.year else "j b Y")

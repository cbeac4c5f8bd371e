"""Times as people say them: "just now", "5 minutes ago" (``{% load when %}{{ moment|ago }}``)."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
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

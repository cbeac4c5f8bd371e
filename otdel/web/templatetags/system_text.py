"""``{{ text|retranslated }}``: a stored system text (history, notifications) in the viewer's language."""

from __future__ import annotations

from django import template

from otdel.core.retranslate import retranslate

register = template.Library()


@register.filter
def retranslated(text: str | None) -> str:
    return retranslate(text)

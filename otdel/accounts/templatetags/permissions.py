"""``{% load permissions %}`` then ``{% if user|may:"manage_routing" %}``: the role checks of
``otdel.accounts.permissions`` in templates."""

from __future__ import annotations

from typing import Any

from django import template

from otdel.accounts import permissions

register = template.Library()


@register.filter
def may(user: Any, what: str) -> bool:
    return permissions.may(user, what)

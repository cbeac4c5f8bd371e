"""The one row-level permission function every read goes through: ``scope(queryset, user)``.

Each app registers a rule per model (``@scope_rule(Deal)``); lists, search, cards, the API and
reports call ``scope`` so a record outside a user's reach is never returned (views answer 404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)
Rule = Callable[[models.QuerySet[Any], Any, str], models.QuerySet[Any]]
_rules: dict[type[models.Model], Rule] = {}


def scope_rule(model: type[models.Model]) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        _rules[model] = rule
        return rule

    return register


def scope(queryset: models.QuerySet[M], user: Any, action: str = "view") -> models.QuerySet[M]:
    """Restrict ``queryset`` to what ``user`` may ``action`` ("view" or "change")."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    rule = _rules.get(queryset.model)
    if rule is None:
        # A model without a rule is visible only to administrators: safe by default.
        return queryset if getattr(user, "is_admin", False) else queryset.none()
    return rule(queryset, user, action)


def get_scoped_or_404(queryset: models.QuerySet[M], user: Any, action: str = "view", **lookup: Any) -> M:
    try:
        return scope(queryset, user, action).get(**lookup)
    except queryset.model.DoesNotExist as exc:  # type: ignore[attr-defined]
        raise Http404 from exc

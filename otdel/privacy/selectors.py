"""Reads of consent purposes and their text versions, through the permission scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from otdel.core.scoping import get_scoped_or_404, scope
from otdel.privacy.models import ConsentPurpose, ConsentText


def _with_current_text(qs: QuerySet[ConsentPurpose]) -> QuerySet[ConsentPurpose]:
    """Load every purpose's text versions, newest first, in one extra query (``purpose.versions``)."""
    return qs.prefetch_related(
        Prefetch("texts", queryset=ConsentText.objects.order_by("-version"), to_attr="versions")
    )


def consent_purpose_list(*, user: Any) -> QuerySet[ConsentPurpose]:
    # No scope rule is registered for purposes: only administrators see them (scope's safe default).
    return _with_current_text(scope(ConsentPurpose.objects.all(), user)).order_by("code")


def consent_purpose_get(*, user: Any, code: str) -> ConsentPurpose:
    return get_scoped_or_404(_with_current_text(ConsentPurpose.objects.all()), user, code=code)


def current_text(purpose: ConsentPurpose) -> ConsentText | None:
    """The newest wording, from the prefetched versions when the selector loaded them."""
    versions = getattr(purpose, "versions", None)
    if versions is not None:
        return versions[0] if versions else None
    return purpose.current_text


def consent_texts_current(purposes: list[ConsentPurpose]) -> dict[int, ConsentText]:
    """The current wording of each purpose in one query: {purpose id: text}."""
    current: dict[int, ConsentText] = {}
    for text in ConsentText.objects.filter(purpose__in=purposes).order_by("purpose_id", "-version"):
        current.setdefault(text.purpose_id, text)
    return current

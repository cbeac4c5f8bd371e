"""Shared pieces of the API views: scoped viewsets, scoped id fields, the error schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, viewsets
from rest_framework.permissions import SAFE_METHODS

from otdel.core.scoping import scope


class ErrorSerializer(serializers.Serializer):
    """The one error shape of CONTRACTS.md."""

    # The metaclass moves declared fields off the class, so this does not shadow Serializer.errors.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages by field name ("__all__" for the request as a whole)',
    )
    code = serializers.CharField(help_text="Machine-readable reason, e.g. identity_taken, stale_version")


BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Invalid input; the fields at fault are named")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="The user's role does not allow this")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such record in the user's scope")
CONFLICT = OpenApiResponse(ErrorSerializer, description="Conflict: stale version or a value held elsewhere")


class ScopedViewSet(viewsets.GenericViewSet):
    """Rows come from ``scoped_queryset()`` (a selector, already scoped to the user).

    Writes look the row up again with the "change" action of ``scope``, so a record outside the
    user's reach is a 404 for reading and writing alike.
    """

    lookup_value_regex = r"\d+"

    def scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.scoped_queryset()
        if self.request.method not in SAFE_METHODS:
            queryset = scope(queryset, self.request.user, "change")
        return queryset


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a record the requesting user may see; any other id reads as "does not exist".

    So an id guessed from outside the scope reveals nothing, and nobody links what they cannot see.
    """

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        queryset = super().get_queryset()
        assert queryset is not None  # every use passes queryset=
        return scope(queryset, getattr(request, "user", None))


@contextlib.contextmanager
def errors_renamed(names: dict[str, str]) -> Iterator[None]:
    """Report a service's field errors under the names the API request used (``target`` -> ``into``)."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {names.get(field, field): errors for field, errors in exc.error_dict.items()}
        ) from exc

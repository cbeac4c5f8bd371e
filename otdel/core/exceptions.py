"""Errors services raise; the UI and the API turn them into field errors, 404 and 409."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class ConflictError(Exception):
    """The record changed since the caller read it, or a unique value is held by another record."""

    def __init__(self, message: str, *, code: str = "conflict", field: str = "__all__") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    """A ValidationError bound to one field, in the shape forms and the API both understand."""
    return ValidationError({field: ValidationError(message, code=code)})

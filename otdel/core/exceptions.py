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


class ApiError(Exception):
    """A refusal the API answers in the contract's error shape (``otdel/api/errors.py`` renders it).

    ``errors`` maps a field (or ``__all__``) to messages; ``code`` is a member of an app's error-code
    enum (``otdel/<app>/errors.py``); ``headers`` go on the response (``Retry-After``).
    """

    status: int = 400

    def __init__(
        self,
        errors: dict[str, list[str]] | str,
        code: str = "invalid",
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.errors = errors if isinstance(errors, dict) else {"__all__": [str(errors)]}
        self.code = str(code)
        if status is not None:
            self.status = status
        self.headers = headers or {}
        super().__init__(str(self.errors))

    def body(self) -> dict[str, object]:
        return {"errors": self.errors, "code": self.code}

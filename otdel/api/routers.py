"""A router whose paths work with and without the trailing slash (CONTRACTS.md writes them without)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """``/api/v1/contacts`` and ``/api/v1/contacts/`` reach the same view.

    A non-capturing group (rather than ``/?``) keeps the OpenAPI path slash-free: drf-spectacular
    simplifies the regex by dropping non-capturing groups, so the schema shows the contract's spelling
    and each operation once.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "(?:/)?"

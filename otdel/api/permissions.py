"""Role checks for API views; row-level access is ``scope()`` in the selectors, never here."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from otdel.accounts.permissions import is_admin, may_configure_sales


class IsAdmin(BasePermission):
    """Administration endpoints: administrators only; anyone else signed in gets 403."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return is_admin(user)


class IsAdminOrReadOnly(BasePermission):
    """Reference lists (pipelines, lost reasons): everyone signed in reads, administrators write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or is_admin(user)


class SalesSettingsOrReadOnly(BasePermission):
    """Pipelines, stages, custom fields: everyone signed in reads; administrators and the head of
    sales change them."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or may_configure_sales(user)

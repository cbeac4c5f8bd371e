"""Version 1 of the public API (CONTRACTS.md)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

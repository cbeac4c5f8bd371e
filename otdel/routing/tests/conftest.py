"""Routing tests run with the in-process caches off unless a test turns them on."""

import pytest

from otdel.routing.api.authentication import forget_tokens
from otdel.routing.snapshot import routing_snapshot_clear


@pytest.fixture(autouse=True)
def routing_cache_off(settings):
    settings.OTDEL_ROUTING_CACHE_SECONDS = 0
    yield
    routing_snapshot_clear()
    forget_tokens()


@pytest.fixture
def routing_cache_on(settings):
    """Turn the snapshot and token caches on (5 s), starting empty."""
    routing_snapshot_clear()
    forget_tokens()
    settings.OTDEL_ROUTING_CACHE_SECONDS = 5
    return settings

"""The demo department (``manage.py load_demo``): the sales department in ``sales``, then each app's
own demo data (``<app>/demo.py: seed_demo()``) on top, in the order of ``APP_DEMOS``."""

from __future__ import annotations

from importlib import import_module

# Each module's ``seed_demo()`` works on top of the sales demo, is deterministic and idempotent.
APP_DEMOS = (
    "otdel.privacy.demo",
    "otdel.documents.demo",
    "otdel.kb.demo",
    "otdel.automation.demo",
    "otdel.approvals.demo",
    # Last: rebuilds the stage history from what the others left.
    "otdel.reports.demo",
)


def seed_apps() -> list[str]:
    """Run every app's demo seed; returns the apps seeded."""
    seeded = []
    for path in APP_DEMOS:
        import_module(path).seed_demo()
        seeded.append(path.split(".")[1])
    return seeded

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "otdel.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Connect signal receivers; register the periodic job.
        from otdel.core import changelog, sqlite, tasks  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "otdel.live"
    label = "live"
    verbose_name = _("Live updates")

    def ready(self) -> None:
        from otdel.live import tasks  # noqa: F401  (the periodic prune)

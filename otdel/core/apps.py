from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "otdel.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from otdel.core import changelog, sqlite  # noqa: F401  (connects signal receivers)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransferConfig(AppConfig):
    name = "otdel.transfer"
    label = "transfer"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from otdel.transfer import erase, tasks  # noqa: F401  (the sweep; the 152-FZ eraser)

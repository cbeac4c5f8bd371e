from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "otdel.comms"
    label = "comms"
    verbose_name = _("Communications")

    def ready(self) -> None:
        # Importing the adapters registers their parsers and event handlers.
        from otdel.comms.telegram import parse, services  # noqa: F401
        from otdel.comms.telephony import generic  # noqa: F401

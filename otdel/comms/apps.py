from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "otdel.comms"
    label = "comms"
    verbose_name = _("Communications")

    def ready(self) -> None:
        from otdel.comms.telephony import generic  # noqa: F401  (registers the parser)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "otdel.routing"
    label = "routing"
    verbose_name = _("Routing")

    def ready(self) -> None:
        # Connects the signal receivers that drop the routing snapshot when its rows change.
        from otdel.routing import snapshot  # noqa: F401

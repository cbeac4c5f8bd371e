from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "otdel.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Subscribes the notification handlers to the domain events.
        from otdel.automation import delivery, handlers, handlers_rules, targets, tasks  # noqa: F401

        targets.connect()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "otdel.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Subscribes the notification handlers to the domain events.
        from otdel.automation import handlers, handlers_rules, tasks  # noqa: F401
        from otdel.automation.reports import sla_figures, sla_records
        from otdel.reports.selectors import sla_provider_register

        sla_provider_register(sla_figures, drill=sla_records)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "otdel.kb"
    label = "kb"
    verbose_name = _("Regulations and FAQ")

    def ready(self) -> None:
        from otdel.kb import handlers, selectors, tasks  # noqa: F401  (scoping rules, subscribers, periodic jobs)

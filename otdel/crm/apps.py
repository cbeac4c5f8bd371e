from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "otdel.crm"
    label = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from otdel.crm import search, selectors  # noqa: F401  (scoping rules; search index signals)

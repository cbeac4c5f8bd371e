from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "otdel.approvals"
    label = "approvals"
    verbose_name = _("Approvals and departments")

    def ready(self) -> None:
        from otdel.approvals import erase, handlers, selectors  # noqa: F401  (scope rules, subscribers, eraser)

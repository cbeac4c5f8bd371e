from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "otdel.ops"
    label = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        # Periodic jobs (heartbeat, daily backup), the task-duration metric, the restore hook.
        from otdel.ops import metrics, restore, tasks  # noqa: F401

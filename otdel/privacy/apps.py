from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "otdel.privacy"
    label = "privacy"
    verbose_name = _("Personal data")

    def ready(self) -> None:
        # Register the daily jobs (retention proposals, request reminders) with the scheduler.
        from otdel.privacy import tasks  # noqa: F401

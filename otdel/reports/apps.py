from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "otdel.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from otdel.reports import history, tasks  # noqa: F401  (the change-log receiver, periodic job)

        post_migrate.connect(_history_first_build, sender=self)


def _history_first_build(**kwargs: object) -> None:
    """When the stage history is installed on a database that already has deals, derive it once."""
    from otdel.crm.models import Deal
    from otdel.reports.history import history_rebuild
    from otdel.reports.models import StageVisit

    if not StageVisit.objects.exists() and Deal.objects.exists():
        history_rebuild()

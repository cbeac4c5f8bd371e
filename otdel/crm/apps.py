from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _custom_indexes_ensure(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Every custom field's index exists after ``migrate`` (a database rebuilt from a data dump
    has the fields but not the indexes they were given at run time)."""
    from django.db import connections

    from otdel.crm.custom import index_create
    from otdel.crm.models import CustomField

    if "crm_customfield" not in connections[using].introspection.table_names():
        return
    for field in CustomField.objects.using(using).all():
        index_create(field)


class CrmConfig(AppConfig):
    name = "otdel.crm"
    label = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from otdel.crm import search, selectors  # noqa: F401  (scoping rules; search index signals)

        post_migrate.connect(_custom_indexes_ensure, sender=self)

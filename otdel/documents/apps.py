from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "otdel.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        # Registers the scope rules of the documents' models.
        from otdel.documents import erase, selectors  # noqa: F401 (and the 152-FZ eraser)

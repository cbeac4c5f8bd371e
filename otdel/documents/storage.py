"""Where template and document files live: ``OTDEL_DATA_DIR/documents`` by default, or any Django
storage configured as ``STORAGES["documents"]`` (e.g. S3-compatible through django-storages).

Files are written under new names only (``<kind>/<yyyy>/<mm>/<uuid>/<name>``), never overwritten.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from functools import cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils import timezone

logger = logging.getLogger(__name__)


@cache
def documents_storage() -> Storage:
    if "documents" in getattr(settings, "STORAGES", {}):
        return storages["documents"]
    return FileSystemStorage(location=settings.DATA_DIR / "documents")


def file_save(folder: str, name: str, data: bytes) -> str:
    now = timezone.now()
    safe = name.replace("/", "_").replace("\\", "_")[-150:] or "file"
    path = f"{folder}/{now:%Y/%m}/{uuid.uuid4().hex}/{safe}"
    return documents_storage().save(path, ContentFile(data))


def file_read(name: str) -> bytes:
    with documents_storage().open(name, "rb") as handle:
        return handle.read()


def files_delete(names: Iterable[str], storage: Storage | None = None) -> int:
    """Delete files (from the documents storage unless another is given); one that cannot be
    deleted is logged, never raised: the rows that named it are gone already. Returns how many went."""
    storage = storage or documents_storage()
    deleted = 0
    for name in names:
        try:
            storage.delete(name)
            deleted += 1
        except Exception:
            logger.exception("could not delete the stored file %s", name)
    return deleted

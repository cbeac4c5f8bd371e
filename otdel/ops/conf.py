"""Operations settings: a Django setting of that name, else the environment, else a default."""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

from django.conf import settings

from otdel.core.conf import int_setting

__all__ = ["backup_dir", "int_setting", "otdel_version", "str_setting"]


def str_setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value).strip()


def backup_dir() -> Path:
    """Where archives are written (and kept, unless they go to S3): ``OTDEL_BACKUP_DIR``."""
    return Path(str_setting("OTDEL_BACKUP_DIR") or settings.DATA_DIR / "backups").resolve()


@cache
def otdel_version() -> str:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"

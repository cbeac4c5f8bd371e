"""Where archives are kept: a directory (``OTDEL_BACKUP_DIR``) or an S3-compatible bucket, and rotation.

S3 needs boto3 (``pip install boto3``; optional): ``OTDEL_BACKUP_S3_BUCKET``, ``OTDEL_BACKUP_S3_PREFIX``
(default ``otdel/``), ``OTDEL_BACKUP_S3_ENDPOINT_URL`` (for MinIO, Yandex Object Storage, VK Cloud...),
``OTDEL_BACKUP_S3_REGION``; the keys come from boto3's usual places (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` in the environment file).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.utils import timezone

from otdel.ops.archive import ArchiveError, archive_time
from otdel.ops.conf import backup_dir, str_setting


@dataclass(frozen=True)
class Stored:
    name: str
    made_at: datetime.datetime


class Destination(Protocol):
    def put(self, path: Path) -> str: ...  # returns the archive's location
    def list(self) -> list[Stored]: ...
    def delete(self, name: str) -> None: ...


class DirectoryDestination:
    def __init__(self, path: Path) -> None:
        self.path = path

    def put(self, path: Path) -> str:
        if path.parent.resolve() != self.path.resolve():
            target = self.path / path.name
            path.replace(target)
            path = target
        return str(path)

    def list(self) -> list[Stored]:
        if not self.path.is_dir():
            return []
        found = []
        for entry in self.path.iterdir():
            made = archive_time(entry.name)
            if made is not None and entry.is_file():
                found.append(Stored(entry.name, made))
        return found

    def delete(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)


class S3Destination:
    def __init__(self, bucket: str, prefix: str, endpoint_url: str, region: str) -> None:
        try:
            import boto3  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ArchiveError(
                "OTDEL_BACKUP_S3_BUCKET is set, but boto3 is not installed: run "
                "`.venv/bin/pip install boto3`, or unset it to keep backups in OTDEL_BACKUP_DIR"
            ) from exc
        self.bucket = bucket
        self.prefix = prefix
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)

    def put(self, path: Path) -> str:
        key = self.prefix + path.name
        self.client.upload_file(str(path), self.bucket, key)
        path.unlink()  # the local copy was only the staging area
        return f"s3://{self.bucket}/{key}"

    def list(self) -> list[Stored]:
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                made = archive_time(name)
                if made is not None:
                    found.append(Stored(name, made))
        return found

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)


def configured_destination(output: Path | None = None) -> Destination:
    """``--output DIR`` wins; else S3 when a bucket is set; else ``OTDEL_BACKUP_DIR``."""
    if output is not None:
        return DirectoryDestination(output)
    bucket = str_setting("OTDEL_BACKUP_S3_BUCKET")
    if bucket:
        return S3Destination(
            bucket,
            str_setting("OTDEL_BACKUP_S3_PREFIX", "otdel/"),
            str_setting("OTDEL_BACKUP_S3_ENDPOINT_URL"),
            str_setting("OTDEL_BACKUP_S3_REGION"),
        )
    return DirectoryDestination(backup_dir())


def rotation_keep(stored: list[Stored], *, daily: int, weekly: int) -> set[str]:
    """Names to keep: the newest archive of each of the last ``daily`` days that have one, and of each
    of the last ``weekly`` ISO weeks that have one (local time). The newest archive is always kept."""
    newest_first = sorted(stored, key=lambda s: s.made_at, reverse=True)
    keep: set[str] = set()
    days: set[datetime.date] = set()
    weeks: set[tuple[int, int]] = set()
    for item in newest_first:
        local = timezone.localtime(item.made_at)
        day = local.date()
        week = tuple(day.isocalendar()[:2])
        if day not in days and len(days) < daily:
            days.add(day)
            keep.add(item.name)
        if week not in weeks and len(weeks) < weekly:
            weeks.add(week)  # type: ignore[arg-type]
            keep.add(item.name)
    if newest_first:
        keep.add(newest_first[0].name)
    return keep


def rotate(destination: Destination, *, daily: int, weekly: int) -> list[str]:
    """Delete the archives rotation does not keep; returns their names."""
    stored = destination.list()
    keep = rotation_keep(stored, daily=daily, weekly=weekly)
    deleted = sorted(s.name for s in stored if s.name not in keep)
    for name in deleted:
        destination.delete(name)
    return deleted

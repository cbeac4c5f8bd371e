"""Which rows the demo wrote: a snapshot of every table before and after ``load_demo``; ``remove_demo``
deletes exactly those rows (and what cascades from them), refusing if later records protect them,
and then the files that only those rows named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.files.storage import Storage
from django.db import models, transaction
from django.db.models import Max, ProtectedError, Q, RestrictedError

from otdel.demo.models import DemoManifest
from otdel.documents.storage import documents_storage, files_delete

Snapshot = dict[str, Any]  # label -> max integer key, or a list of keys (as strings) for other keys


def _models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model is not DemoManifest
    ]


def _integer_key(model: type[models.Model]) -> bool:
    return isinstance(model._meta.pk, models.AutoField | models.BigAutoField | models.SmallAutoField)


def snapshot() -> Snapshot:
    taken: Snapshot = {}
    for model in _models():
        if _integer_key(model):
            taken[model._meta.label] = model._default_manager.aggregate(top=Max("pk"))["top"] or 0
        else:
            taken[model._meta.label] = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
    return taken


def difference(before: Snapshot, after: Snapshot) -> Snapshot:
    """Per table, the rows written between two snapshots: ``[first, last]`` keys or the new keys."""
    rows: Snapshot = {}
    for label, top in after.items():
        if isinstance(top, int):
            low = before.get(label, 0)
            if top > low:
                rows[label] = {"range": [low + 1, top]}
        else:
            new = sorted(set(top) - set(before.get(label, [])))
            if new:
                rows[label] = {"keys": new}
    return rows


def record(before: Snapshot) -> DemoManifest:
    return DemoManifest.objects.create(rows=difference(before, snapshot()))


def _filter(spec: dict[str, Any]) -> Q:
    if "range" in spec:
        return Q(pk__gte=spec["range"][0], pk__lte=spec["range"][1])
    return Q(pk__in=spec["keys"])


class NotOnlyDemo(Exception):
    """Records made after the demo protect demo records from deletion (listed per table)."""

    def __init__(self, tables: dict[str, int]) -> None:
        super().__init__(", ".join(f"{label}: {count}" for label, count in sorted(tables.items())))
        self.tables = tables


def _delete(rows: Snapshot) -> None:
    pending = [(apps.get_model(label), _filter(spec)) for label, spec in rows.items()]
    while pending:
        left = []
        for model, where in pending:
            try:
                model._default_manager.filter(where).delete()
            except (ProtectedError, RestrictedError):
                left.append((model, where))  # something still refers to these rows: after the others
        if len(left) == len(pending):
            raise NotOnlyDemo(
                {model._meta.label: model._default_manager.filter(where).count() for model, where in left}
            )
        pending = left


# Columns that keep a file's name in the documents storage as plain text (FileFields are found by
# their type and carry their own storage).
DOCUMENT_STORAGE_NAMES = {
    "documents.DocumentTemplate": ["file"],
    "documents.DocumentVersion": ["file", "preview"],
    "approvals.RequestAttachment": ["file"],
}


def stored_files() -> dict[str, Storage]:
    """Every file a row names (its name -> the storage it is in)."""
    found: dict[str, Storage] = {}
    for model in _models():
        columns: list[tuple[str, Storage]] = [
            (f.name, f.storage) for f in model._meta.concrete_fields if isinstance(f, models.FileField)
        ]
        columns += [(name, documents_storage()) for name in DOCUMENT_STORAGE_NAMES.get(model._meta.label, [])]
        for column, storage in columns:
            for name in model._default_manager.exclude(**{column: ""}).values_list(column, flat=True):
                if name:
                    found[str(name)] = storage
    return found


def _delete_files(files: dict[str, Storage]) -> None:
    for name, storage in files.items():
        files_delete([name], storage)


@dataclass
class Removal:
    demo: dict[str, int]  # rows the demo wrote, per table
    followed: dict[str, int]  # rows made later that belonged to demo rows (a worker's PDF, a
    # notification for a demo user, a note on a demo deal) and went with them (on delete cascade)
    files: int = 0  # files that only removed rows named (templates, generated PDFs, attachments)


def remove() -> Removal:
    """Delete every row the demo loads wrote, in one transaction. Refuses (``NotOnlyDemo``, nothing
    deleted) if a record made later protects a demo record (a real deal of a demo contact)."""
    manifests = list(DemoManifest.objects.all())
    specs = [(label, spec) for manifest in manifests for label, spec in manifest.rows.items()]
    with transaction.atomic():
        demo: dict[str, int] = {}
        for label, spec in specs:
            count = apps.get_model(label)._default_manager.filter(_filter(spec)).count()
            if count:
                demo[label] = demo.get(label, 0) + count
        others = _others(specs)
        files_before = stored_files()
        before_removal = snapshot()
        for manifest in manifests:
            _delete(manifest.rows)
        # The deletion's own traces (history entries of the deleted records) go too.
        _delete(difference(before_removal, snapshot()))
        left = _others(specs)
        followed = {label: count - left[label] for label, count in others.items() if left[label] < count}
        DemoManifest.objects.all().delete()
        # A file goes only when no remaining row names it, and only once the deletion has committed.
        still_named = stored_files()
        files = {name: storage for name, storage in files_before.items() if name not in still_named}
        transaction.on_commit(lambda: _delete_files(files))
    return Removal(demo=demo, followed=followed, files=len(files))


def _others(specs: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """Rows outside the demo per table (to prove none of them went with it)."""
    counts = {}
    for model in _models():
        demo = Q(pk__in=[])
        for label, spec in specs:
            if label == model._meta.label:
                demo |= _filter(spec)
        counts[model._meta.label] = model._default_manager.exclude(demo).count()
    return counts

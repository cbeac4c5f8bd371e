"""Writes of the transfer app: upload and configure an import, run it (resumable), cancel, undo;
log an export."""

from __future__ import annotations

import datetime
import logging
import time
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.core.bulk import bulk_insert
from otdel.core.context import acting_as
from otdel.core.exceptions import ConflictError, field_error
from otdel.core.models import ObjectChange
from otdel.crm.models import Identity, Pipeline
from otdel.transfer import engine, layouts, reader
from otdel.transfer.models import Dedupe, ExportLog, ImportJob, ImportKind, ImportRow

logger = logging.getLogger(__name__)
UNDO_DAYS = 7
STALE_AFTER = datetime.timedelta(minutes=2)


def batch_size() -> int:
    from django.conf import settings

    return int(getattr(settings, "OTDEL_IMPORT_BATCH", 1000))


def may_import(user: Any) -> bool:
    return bool(getattr(user, "is_admin", False) or getattr(user, "is_head_of_sales", False))


def _require_importer(user: Any) -> None:
    if not may_import(user):
        raise PermissionDenied(_("Only an administrator or the head of sales may import."))


def table_info(job: ImportJob) -> reader.TableInfo:
    return reader.TableInfo(job.file_format, job.encoding, job.delimiter, list(job.headers))


# --- creating and configuring -----------------------------------------------------------------


@transaction.atomic
def import_create(
    *,
    actor: Any,
    upload: Any,
    kind: str,
    mapping: dict[str, str] | None = None,
    dry_run: bool = True,
    dedupe: str = Dedupe.FILL,
    skip_invalid: bool = False,
    pipeline: Pipeline | None = None,
    start: bool = False,
) -> ImportJob:
    """Store the file, check it, recognize the layout and guess the mapping.

    With ``start`` (the API) the job is queued at once; the UI leaves it as a draft for the
    mapping screen. A file that cannot be read is refused here, before anything is made.
    """
    _require_importer(actor)
    if kind not in ImportKind.values:
        raise field_error("kind", _("Choose what the file holds."), "invalid_kind")
    if dedupe not in Dedupe.values:
        raise field_error("dedupe", _("Choose what to do with records that already exist."), "invalid_dedupe")
    if upload is None:
        raise field_error("file", _("Choose a file."), "required")
    name = Path(getattr(upload, "name", "") or "import.csv").name
    size = getattr(upload, "size", None)
    if size is not None and size > reader.max_bytes():
        from django.template.defaultfilters import filesizeformat

        raise field_error(
            "file",
            _(
                "The file is %(size)s; the largest file that can be imported is %(limit)s. Split it into parts."
            )
            % {"size": filesizeformat(size), "limit": filesizeformat(reader.max_bytes())},
            "too_large",
        )
    stored = default_storage.save(f"transfer/imports/{timezone.now():%Y/%m}/{name}", File(upload))
    try:
        info = reader.inspect(Path(default_storage.path(stored)), name)
        layout = ""
        resolved = kind
        if kind == ImportKind.AUTO:
            found = layouts.recognize(info.headers)
            if found is None:
                raise field_error(
                    "kind",
                    _(
                        "The columns do not look like an amoCRM or Bitrix24 export. Choose what the file holds."
                    ),
                    "layout_unknown",
                )
            layout, resolved = found["code"], found["kind"]
        guessed = layouts.guess_mapping(info.headers, resolved, layout)
        job = ImportJob(
            created_by=actor,
            kind=resolved,
            layout=layout,
            file_name=name[:255],
            file_format=info.file_format,
            encoding=info.encoding,
            delimiter=info.delimiter,
            headers=info.headers,
            mapping=guessed,
            dry_run=dry_run,
            dedupe=dedupe,
            skip_invalid=skip_invalid,
            pipeline=pipeline,
        )
        job.file.name = stored
        if mapping:
            job.mapping = _mapping_by_index(job, mapping)
        _validate_mapping(job)
        job.save()
    except Exception:
        default_storage.delete(stored)
        raise
    if start:
        import_start(actor=actor, job=job, dry_run=dry_run)
    return job


def _mapping_by_index(job: ImportJob, mapping: dict[str, str]) -> dict[str, str]:
    """The API takes {header or column index: target}; stored by column index."""
    result: dict[str, str] = {}
    for key, target in mapping.items():
        if str(key).isdigit() and int(key) < len(job.headers):
            index = int(key)
        elif key in job.headers:
            index = job.headers.index(key)
        else:
            raise field_error(
                "mapping", _("There is no column “%(name)s” in the file.") % {"name": key}, "unknown_column"
            )
        if target:
            result[str(index)] = str(target)
    return result


def _validate_mapping(job: ImportJob) -> None:
    allowed = set(layouts.KIND_TARGETS[job.kind])
    seen: set[str] = set()
    for _index, target in job.mapping.items():
        if target not in allowed:
            raise field_error(
                "mapping", _("“%(target)s” cannot be imported here.") % {"target": target}, "bad_target"
            )
        if target in seen and target not in layouts.MULTI_TARGETS:
            raise field_error(
                "mapping",
                _("Two columns are mapped to “%(target)s”.") % {"target": layouts.TARGET_LABELS[target]},
                "duplicate_target",
            )
        seen.add(target)
    needs = {
        "contacts": {"full_name", "last_name", "first_name", "phone", "email"},
        "companies": {"company"},
        "deals": {"title", "full_name", "company", "phone", "email"},
        "leads": {"full_name", "first_name", "last_name", "phone", "email"},
        "products": {"sku"},  # the catalog finds a product by its SKU
    }[job.kind]
    if not needs & seen:
        raise field_error(
            "mapping",
            _("Map at least one of these columns: %(names)s.")
            % {"names": ", ".join(str(layouts.TARGET_LABELS[n]) for n in sorted(needs))},
            "nothing_mapped",
        )


@transaction.atomic
def import_configure(
    *,
    actor: Any,
    job: ImportJob,
    mapping: dict[str, str],
    value_maps: dict[str, dict[str, str]] | None = None,
    dedupe: str | None = None,
    pipeline: Pipeline | None = None,
    skip_invalid: bool | None = None,
    route_owners: bool | None = None,
) -> ImportJob:
    _require_importer(actor)
    if job.status != ImportJob.Status.DRAFT:
        raise ConflictError(_("This import has already started."), code="import_started")
    job.mapping = {str(k): v for k, v in mapping.items() if v}
    _validate_mapping(job)
    if value_maps is not None:
        job.value_maps = value_maps
    if dedupe is not None:
        job.dedupe = dedupe
    if pipeline is not None:
        job.pipeline = pipeline
    if skip_invalid is not None:
        job.skip_invalid = skip_invalid
    if route_owners is not None:
        job.route_owners = route_owners
    job.save()
    return job


@transaction.atomic
def import_start(*, actor: Any, job: ImportJob, dry_run: bool) -> ImportJob:
    """Queue the job; a finished dry run can be started again for real (a new job copies it)."""
    _require_importer(actor)
    if job.status != ImportJob.Status.DRAFT:
        if not job.dry_run or job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            raise ConflictError(_("This import has already started."), code="import_started")
        job = ImportJob.objects.get(pk=job.pk)
        job.pk = None
        job._state.adding = True
        for name in ("total", "started_at", "heartbeat_at", "finished_at", "run_started_at"):
            setattr(job, name, None)
        for name in ("done_rows", "created", "updated", "merged", "skipped", "errors", "run_started_rows"):
            setattr(job, name, 0)
        job.last_row, job.message, job.cancel_requested = 1, "", False
    job.dry_run = dry_run
    job.status = ImportJob.Status.QUEUED
    job.save()
    from otdel.transfer.tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.enqueue(job.pk))
    return job


@transaction.atomic
def import_cancel(*, actor: Any, job: ImportJob) -> ImportJob:
    _require_importer(actor)
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.DRAFT):
        job.status = ImportJob.Status.CANCELLED
        job.finished_at = timezone.now()
    elif job.status == ImportJob.Status.RUNNING:
        job.cancel_requested = True
    else:
        raise ConflictError(_("This import is not running."), code="import_not_running")
    job.save()
    return job


# --- running ----------------------------------------------------------------------------------


def _claim(job_id: int) -> ImportJob | None:
    """Take the job for this worker: queued, or running with a heartbeat older than STALE_AFTER
    (its worker died). A conditional UPDATE, so two workers never run one job."""
    now = timezone.now()
    stale = now - STALE_AFTER
    from django.db.models import Q

    taken = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED)
        | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale)
        | Q(status=ImportJob.Status.RUNNING, heartbeat_at__isnull=True),
        pk=job_id,
    ).update(
        status=ImportJob.Status.RUNNING, heartbeat_at=now, run_started_at=now, run_started_rows=F("done_rows")
    )
    if not taken:
        return None
    job = ImportJob.objects.select_related("created_by", "pipeline").get(pk=job_id)
    if job.started_at is None:
        job.started_at = now
        job.save(update_fields=["started_at"])
    return job


def import_run(job_id: int) -> ImportJob | None:
    """Run (or resume) an import: first a pass that counts and checks every row, then rows are
    applied in batches, each batch committed with its report rows and the position reached."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        with acting_as(job.created_by):
            _run(job)
    except ValidationError as exc:  # the file itself went bad (encoding change deep inside)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, message=" ".join(exc.messages), finished_at=timezone.now()
        )
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            message=_("Internal error: %(error)s") % {"error": exc},
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def _run(job: ImportJob) -> None:
    path = Path(job.file.path)
    info = table_info(job)
    ctx = engine.ImportContext(job)
    if job.total is None and not _prescan(job, ctx, path, info):
        return
    batch: list[tuple[int, list[Any]]] = []
    for number, values in reader.iter_rows(path, info):
        if number <= job.last_row:
            continue
        batch.append((number, values))
        if len(batch) >= batch_size():
            if not _commit_batch(job, ctx, batch):
                return
            batch = []
    if batch and not _commit_batch(job, ctx, batch):
        return
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])


def _prescan(job: ImportJob, ctx: engine.ImportContext, path: Path, info: reader.TableInfo) -> bool:
    """Count the rows and parse each (no writes). On a real run with bad rows and no
    "skip rows with errors", nothing is imported: the rows at fault are reported and the job fails."""
    total = 0
    bad: list[ImportRow] = []
    for number, values in reader.iter_rows(path, info):
        if number == 1:
            continue
        total += 1
        try:
            engine.parse_row(ctx, values)
        except engine.RowError as exc:
            bad.append(
                ImportRow(
                    job=job, row=number, outcome=ImportRow.Outcome.ERROR, field=exc.field, message=exc.message
                )
            )
    job.total = total
    if bad and not job.dry_run and not job.skip_invalid:
        ImportRow.objects.bulk_create(bad, batch_size=500)
        job.errors = len(bad)
        job.status = ImportJob.Status.FAILED
        job.message = _(
            "%(count)s rows have errors, so nothing was imported. Fix them in the file (the report lists "
            "each) or choose to skip rows with errors."
        ) % {"count": len(bad)}
        job.finished_at = timezone.now()
        job.save()
        return False
    job.save(update_fields=["total"])
    return True


CONTACT_CHUNK = 500  # contact rows created by one contacts_create_batch


def _after_batch(job: ImportJob) -> None:
    """A seam for tests (a worker killed between batches)."""


def batch_seconds() -> float:
    from django.conf import settings

    return float(getattr(settings, "OTDEL_IMPORT_BATCH_SECONDS", 2.0))


def _commit_batch(job: ImportJob, ctx: engine.ImportContext, batch: list[tuple[int, list[Any]]]) -> bool:
    """Apply the rows in transactions of at most ``OTDEL_IMPORT_BATCH_SECONDS`` each: short
    transactions keep the progress bar moving, other writers unblocked on SQLite, and the routing
    snapshot (kept only outside a transaction, for a few seconds) fresh."""
    while batch:
        batch = _commit_some(job, ctx, batch)
        job.refresh_from_db()
        _after_batch(job)
        if job.cancel_requested:
            job.status = ImportJob.Status.CANCELLED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
            return False
    return True


def _commit_some(
    job: ImportJob, ctx: engine.ImportContext, batch: list[tuple[int, list[Any]]]
) -> list[tuple[int, list[Any]]]:
    """Apply rows from the start of ``batch`` until it is done or the time is up; commit them with
    their report rows and the position reached; return the rows left."""
    counts = {o: 0 for o in ImportRow.Outcome.values}
    if job.route_owners and not job.dry_run:
        ctx.routing = _warm_routing()
    deadline = time.monotonic() + batch_seconds()
    with transaction.atomic():
        done = set(
            ImportRow.objects.filter(job=job, row__in=[n for n, _v in batch]).values_list("row", flat=True)
        )
        results = []
        taken = 0
        if job.kind == "contacts" and not job.dry_run:
            # New people go to the CRM many at a time (crm.services.contacts_create_batch).
            while taken < len(batch) and (taken == 0 or time.monotonic() <= deadline):
                chunk = batch[taken : taken + CONTACT_CHUNK]
                taken += len(chunk)
                results += engine.apply_contact_rows(ctx, [(n, v) for n, v in chunk if n not in done])
        else:
            for number, values in batch:
                taken += 1
                if number not in done:
                    results.append(engine.apply_safely(ctx, number, values, job.kind))
                if time.monotonic() > deadline:
                    break
        bulk_insert(
            ImportRow,
            [
                ImportRow(
                    job=job,
                    row=r.row,
                    outcome=r.outcome,
                    field=r.field[:64],
                    message=r.message,
                    records=r.objects,
                )
                for r in results
            ],
        )
        for r in results:
            counts[r.outcome] += 1
        ImportJob.objects.filter(pk=job.pk).update(
            last_row=batch[taken - 1][0],
            done_rows=F("done_rows") + len(results),
            heartbeat_at=timezone.now(),
            created=F("created") + counts["created"],
            updated=F("updated") + counts["updated"],
            merged=F("merged") + counts["merged"],
            skipped=F("skipped") + counts["skipped"],
            errors=F("errors") + counts["error"],
        )
    return batch[taken:]


def _warm_routing() -> Any:
    """Read the routing configuration outside the batch's transaction: inside it the routing
    snapshot is kept only on commit, so every row of the batch would read it again (the batch
    hands this one to ``routing_decide``)."""
    from otdel.routing.services import _local_now
    from otdel.routing.snapshot import routing_snapshot

    return routing_snapshot(_local_now(None).date())


def import_resume_stale(*, now: datetime.datetime | None = None) -> list[int]:
    """Queue again the jobs whose worker stopped (no heartbeat for STALE_AFTER); they resume after
    the last committed row."""
    now = now or timezone.now()
    stale = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    ids = list(stale.values_list("pk", flat=True))
    from otdel.transfer.tasks import import_run_task

    for pk in ids:
        ImportJob.objects.filter(pk=pk).update(heartbeat_at=None)
        import_run_task.enqueue(pk)
    return ids


# --- undo -------------------------------------------------------------------------------------

DELETE_ORDER = ["crm.deal", "crm.lead", "crm.contact", "crm.company", "documents.product"]


def undo_deadline(job: ImportJob) -> datetime.datetime | None:
    return job.finished_at + datetime.timedelta(days=UNDO_DAYS) if job.finished_at else None


def can_undo(job: ImportJob, now: datetime.datetime | None = None) -> bool:
    deadline = undo_deadline(job)
    return (
        not job.dry_run
        and job.status in (ImportJob.Status.DONE, ImportJob.Status.CANCELLED)
        and deadline is not None
        and (now or timezone.now()) <= deadline
        and (job.created + job.updated + job.merged) > 0
    )


@transaction.atomic
def import_undo(*, actor: Any, job: ImportJob) -> dict[str, int]:
    """Remove what the import created and put back what it changed (from the change log).

    A record the import created but someone has since used (a deal, a lead or a call on an imported
    contact) is kept and counted in ``kept``; a field edited again after the import keeps the newer value.
    """
    _require_importer(actor)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if not can_undo(job):
        raise ConflictError(
            _("This import can no longer be undone (only a finished import, within %(days)s days).")
            % {"days": UNDO_DAYS},
            code="undo_unavailable",
        )
    created: dict[str, list[int]] = {label: [] for label in DELETE_ORDER}
    changes: list[int] = []
    for objects in (
        ImportRow.objects.filter(job=job)
        .exclude(records=[])
        .order_by("-row")
        .values_list("records", flat=True)
    ):
        for label, pk, action, change_ids in objects:
            if action == "created":
                created.setdefault(label, []).append(pk)
            else:
                changes.extend(change_ids)
    result = {"removed": 0, "restored": 0, "kept": 0}
    with acting_as(actor):
        for change in (
            ObjectChange.objects.filter(pk__in=changes).order_by("-id").select_related("content_type")
        ):
            result["restored"] += _restore(change)
        for label in DELETE_ORDER:
            model = apps.get_model(label)
            for obj in model._default_manager.filter(pk__in=created.get(label, [])).order_by("-pk"):
                if _used_since(label, obj, created):
                    result["kept"] += 1
                    continue
                try:
                    with transaction.atomic():
                        obj.delete()
                    result["removed"] += 1
                except ProtectedError:
                    result["kept"] += 1
    job.status = ImportJob.Status.UNDONE
    job.undone_at = timezone.now()
    job.message = (
        _("Undone: %(removed)s records removed, %(restored)s changes restored, %(kept)s kept.") % result
    )
    job.save()
    return result


def _used_since(label: str, obj: Any, created: dict[str, list[int]]) -> bool:
    """An imported contact that has got a deal, a lead or a call of its own since, or an imported
    product that is on a deal's line (removing it would unlink the line): kept by undo."""
    if label == "documents.product":
        DealItem = apps.get_model("documents", "DealItem")
        return bool(DealItem._default_manager.filter(product=obj).exists())
    if label != "crm.contact":
        return False
    contact = obj
    if contact.deals.exclude(pk__in=created.get("crm.deal", [])).exists():
        return True
    if contact.leads.exclude(pk__in=created.get("crm.lead", [])).exists():
        return True
    if apps.is_installed("otdel.comms"):
        Interaction = apps.get_model("comms", "Interaction")
        if Interaction._default_manager.filter(contact=contact).exists():
            return True
    return False


def _restore(change: ObjectChange) -> int:
    model = change.content_type.model_class()
    if model is None:
        return 0
    obj = model._default_manager.filter(pk=change.object_id).first()
    if obj is None:
        return 0
    restored = 0
    for name, pair in (change.changes or {}).items():
        old, new = pair
        if name == "identity_added":
            restored += Identity.objects.filter(contact_id=obj.pk, value=new).delete()[0] and 1
            continue
        if not hasattr(obj, name):
            continue
        from otdel.core.changelog import _jsonable

        if _jsonable(getattr(obj, name)) == _jsonable(new):
            setattr(obj, name, old)
            restored += 1
    if restored:
        obj.save()
    return restored


# --- exports ----------------------------------------------------------------------------------


@transaction.atomic
def export_log_create(
    *, actor: Any, kind: str, file_format: str, filters: dict[str, Any], rows: int | None, status: str
) -> ExportLog:
    return ExportLog.objects.create(
        user=actor,
        user_name=(actor.get_full_name() or actor.get_username())[:150],
        kind=kind,
        file_format=file_format,
        filters=filters,
        rows=rows,
        status=status,
        finished_at=timezone.now() if status == ExportLog.Status.DONE else None,
    )


KEEP_FILES_DAYS = 7


def transfer_files_prune(*, now: datetime.datetime | None = None) -> int:
    """Uploaded import files and background export files hold personal data: remove them once the
    import can no longer be undone (7 days) and exports after 7 days. Rows and logs stay."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=KEEP_FILES_DAYS)
    removed = 0
    for job in ImportJob.objects.filter(finished_at__lt=cutoff).exclude(file=""):
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")
        removed += 1
    for log in ExportLog.objects.filter(at__lt=cutoff).exclude(file=""):
        log.file.delete(save=False)
        ExportLog.objects.filter(pk=log.pk).update(file="")
        removed += 1
    return removed

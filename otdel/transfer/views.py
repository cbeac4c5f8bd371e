"""Import pages (upload, mapping with preview, progress, report, undo) and list exports."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.core.exceptions import ConflictError
from otdel.transfer import engine, export, layouts, selectors, services
from otdel.transfer.api.views import export_queue, export_response, report_response
from otdel.transfer.forms import OptionsForm, UploadForm
from otdel.transfer.models import ImportJob, ImportKind
from otdel.transfer.values import text


def _importer(request: HttpRequest) -> None:
    if not services.may_import(request.user):
        raise PermissionDenied


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(selectors.import_list(user=request.user), pk=pk)


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    _importer(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_create(
                actor=request.user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                pipeline=form.cleaned_data["pipeline"],
                dedupe=form.cleaned_data["dedupe"],
            )
        except (ValidationError, ConflictError) as exc:
            form.add_service_error(exc)
        else:
            return redirect("transfer_import_mapping", job.pk)
    jobs = selectors.import_list(user=request.user)[:50]
    return render(request, "transfer/import_list.html", {"form": form, "jobs": jobs})


def _value_rows(job: ImportJob, ctx: engine.ImportContext) -> list[dict[str, Any]]:
    """For each value-mapped target with a column: distinct values with the choice made or guessed."""
    blocks = []
    for target in layouts.VALUE_MAPPED:
        values = selectors.distinct_values(job, target)
        if not values:
            continue
        chosen = job.value_maps.get(target, {})
        rows = []
        for value in values:
            if value in chosen:
                current = str(chosen[value])
            elif target == "responsible":
                user = engine.guess_user(value, ctx.users)
                current = str(user.pk) if user else ""
            elif target == "stage":
                stage = engine.guess_stage(value, ctx.stages)
                current = str(stage.pk) if stage else ""
            else:
                current = layouts.guess_source(value)
            rows.append({"value": value, "current": current})
        if target == "responsible":
            options = [("", _("— nobody (routing decides) —"))] + [
                (str(u.pk), u.get_full_name() or u.get_username()) for u in ctx.users
            ]
        elif target == "stage":
            options = [(str(s.pk), s.name) for s in ctx.stages]
        else:
            from otdel.crm.models import LeadSource

            options = [(str(v), str(label)) for v, label in LeadSource.choices]
        blocks.append(
            {"target": target, "label": layouts.TARGET_LABELS[target], "rows": rows, "options": options}
        )
    return blocks


@login_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    _importer(request)
    job = _job(request, pk)
    if job.status != ImportJob.Status.DRAFT:
        return redirect("transfer_import_detail", job.pk)
    error = ""
    options = OptionsForm(
        request.POST or None,
        initial={"dedupe": job.dedupe, "skip_invalid": job.skip_invalid, "route_owners": job.route_owners},
    )
    if job.kind == ImportKind.PRODUCTS:  # the catalog: found by SKU, nobody to route
        options.fields["dedupe"].label = _("When the SKU is already in the catalog")
        del options.fields["route_owners"]
    if request.method == "POST" and options.is_valid():
        mapping = {str(i): request.POST.get(f"col-{i}", "") for i in range(len(job.headers))}
        value_maps: dict[str, dict[str, str]] = {}
        for target in layouts.VALUE_MAPPED:
            raws = request.POST.getlist(f"value-{target}-raw")
            chosen = request.POST.getlist(f"value-{target}-to")
            if raws:
                value_maps[target] = dict(zip(raws, chosen, strict=False))
        try:
            services.import_configure(
                actor=request.user,
                job=job,
                mapping=mapping,
                value_maps=value_maps,
                dedupe=options.cleaned_data["dedupe"],
                skip_invalid=options.cleaned_data["skip_invalid"],
                route_owners=options.cleaned_data.get("route_owners"),
            )
        except (ValidationError, ConflictError) as exc:
            error = " ".join(getattr(exc, "messages", [str(exc)]))
        else:
            action = request.POST.get("action")
            if action in ("dry_run", "import"):
                services.import_start(actor=request.user, job=job, dry_run=action == "dry_run")
                return redirect("transfer_import_detail", job.pk)
            return redirect("transfer_import_mapping", job.pk)
    ctx = engine.ImportContext(job)
    samples = _samples(job)
    columns = [
        {
            "index": i,
            "header": h,
            "target": job.mapping.get(str(i), ""),
            "sample": samples[i] if i < len(samples) else "",
        }
        for i, h in enumerate(job.headers)
    ]
    targets = [(t, layouts.TARGET_LABELS[t]) for t in layouts.KIND_TARGETS[job.kind]]
    return render(
        request,
        "transfer/import_mapping.html",
        {
            "job": job,
            "columns": columns,
            "targets": targets,
            "options": options,
            "error": error,
            "value_blocks": _value_rows(job, ctx),
            "preview": selectors.preview(job),
            "layout_name": layouts.LAYOUT_NAMES.get(job.layout, ""),
        },
    )


def _samples(job: ImportJob) -> list[str]:
    rows = selectors.preview_raw(job, 3)
    width = len(job.headers)
    return [
        " | ".join(filter(None, (text(r[i]) if i < len(r) else "" for r in rows)))[:80] for i in range(width)
    ]


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _importer(request)
    job = _job(request, pk)
    template = (
        "transfer/_import_progress.html"
        if request.headers.get("HX-Request")
        else "transfer/import_detail.html"
    )
    return render(request, template, _detail_context(job))


def _detail_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "progress": selectors.progress(job),
        "errors": job.rows.filter(outcome="error").order_by("row")[:100],
        "can_undo": services.can_undo(job),
        "undo_deadline": services.undo_deadline(job),
        "active": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        "layout_name": layouts.LAYOUT_NAMES.get(job.layout, ""),
    }


@login_required
@require_POST
def import_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _importer(request)
    job = _job(request, pk)
    try:
        if action == "cancel":
            services.import_cancel(actor=request.user, job=job)
            messages.info(request, _("The import will stop after the current batch of rows."))
        elif action == "undo":
            result = services.import_undo(actor=request.user, job=job)
            messages.success(
                request,
                _("Undone: %(removed)s records removed, %(restored)s changes restored, %(kept)s kept.")
                % result,
            )
        elif action == "run":
            job = services.import_start(actor=request.user, job=job, dry_run=False)
        else:
            raise Http404
    except ConflictError as exc:
        messages.error(request, exc.message)
    return redirect("transfer_import_detail", job.pk)


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponseBase:
    _importer(request)
    return report_response(_job(request, pk))


@login_required
def export_list_download(request: HttpRequest, kind: str) -> HttpResponseBase:
    """The Export button of a list: the same filters as the page, as CSV or XLSX."""
    if kind not in export.SPECS:
        raise Http404
    file_format = request.GET.get("format", "xlsx")
    if file_format not in export.FORMATS:
        file_format = "xlsx"
    response = export_response(request, kind, file_format, request.GET)
    if response is not None:
        return response
    export_queue(request, kind, file_format, request.GET)
    messages.info(
        request, _("The list is large, so the file is being prepared; it will appear here when ready.")
    )
    return redirect("transfer_export_list")


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    logs = selectors.export_list(user=request.user)[:50]
    pending = any(log.status in ("queued", "running") for log in logs)
    return render(
        request, "transfer/export_list.html", {"logs": logs, "pending": pending, "specs": export.SPECS}
    )


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    log = get_object_or_404(selectors.export_list(user=request.user), pk=pk, status="done")
    if not log.file:
        raise Http404
    return FileResponse(log.file.open("rb"), as_attachment=True, filename=log.file.name.rsplit("/", 1)[-1])

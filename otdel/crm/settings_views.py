"""CRM settings pages: the pipelines and stages editor, custom fields; a card's custom fields block."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from otdel.accounts.permissions import may_configure_sales, signed_in
from otdel.core.exceptions import ConflictError
from otdel.core.scoping import get_scoped_or_404
from otdel.crm import services
from otdel.crm.custom import MODELS
from otdel.crm.forms import CustomValuesForm, pop_custom
from otdel.crm.models import CustomField, Pipeline, Stage
from otdel.web.forms import StyledForm
from otdel.web.http import int_or_none, redirect_back

STAGE_COLORS = ["#0d6efd", "#6f42c1", "#d63384", "#fd7e14", "#ffc107", "#198754", "#20c997", "#6c757d"]


def _configurer(request: HttpRequest) -> Any:
    user = signed_in(request)
    if not may_configure_sales(user):
        raise PermissionDenied
    return user


def _refusal(request: HttpRequest, exc: ValidationError | ConflictError) -> None:
    if isinstance(exc, ConflictError):
        messages.error(request, exc.message)
    else:
        messages.error(request, " ".join(str(m) for m in exc.messages))


# --- forms -----------------------------------------------------------------------------------


class StageForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Stage.Kind.choices, initial=Stage.Kind.OPEN)
    color = forms.CharField(
        label=gettext_lazy("Colour"),
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={"type": "color", "class": "form-control-color"}),
    )
    probability = forms.IntegerField(
        label=gettext_lazy("Probability, %"), min_value=0, max_value=100, initial=0
    )


class PipelineForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    is_default = forms.BooleanField(label=gettext_lazy("Default pipeline"), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("In use"), required=False, initial=True)


class CustomFieldForm(StyledForm):
    entity = forms.ChoiceField(label=gettext_lazy("Records"), choices=CustomField.Entity.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    code = forms.RegexField(
        label=gettext_lazy("Code"),
        regex=r"^[a-z][a-z0-9_]*$",
        max_length=40,
        help_text=gettext_lazy(
            "Latin lower-case letters, digits and “_”: the field's name in the API, filters and document templates."
        ),
        error_messages={
            "invalid": gettext_lazy("Latin lower-case letters, digits and “_”, starting with a letter.")
        },
    )
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=CustomField.Type.choices)
    options = forms.CharField(
        label=gettext_lazy("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For lists: one option per line."),
    )
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    in_list = forms.BooleanField(label=gettext_lazy("Column in the list"), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("In use"), required=False, initial=True)

    def __init__(self, *args: Any, field: CustomField | None = None, **kwargs: Any) -> None:
        if field is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "entity": field.entity,
                "name": field.name,
                "code": field.code,
                "type": field.type,
                "options": "\n".join(field.options),
                "required": field.required,
                "in_list": field.in_list,
                "is_active": field.is_active,
            }
        super().__init__(*args, **kwargs)
        if field is not None:  # what values and templates depend on stays
            for name in ("entity", "code", "type"):
                self.fields[name].disabled = True
        else:
            del self.fields["is_active"]
        self.style()

    def options_list(self) -> list[str]:
        return [
            line.strip() for line in (self.cleaned_data.get("options") or "").splitlines() if line.strip()
        ]


# --- pipelines and stages --------------------------------------------------------------------


@login_required
def pipelines_page(request: HttpRequest) -> HttpResponse:
    _configurer(request)
    pipelines = list(Pipeline.objects.order_by("order", "id"))
    pipeline = next((p for p in pipelines if p.pk == int_or_none(request.GET.get("pipeline"))), None)
    pipeline = (
        pipeline
        or next((p for p in pipelines if p.is_default), None)
        or (pipelines[0] if pipelines else None)
    )
    stages = (
        list(pipeline.stages.annotate(deal_count=Count("deals")).order_by("order", "id")) if pipeline else []
    )
    for stage in stages:
        stage.form = StageForm(  # type: ignore[attr-defined]
            prefix=f"stage{stage.pk}",
            initial={
                "name": stage.name,
                "kind": stage.kind,
                "color": stage.color or "#6c757d",
                "probability": stage.probability,
            },
        )
        stage.targets = [s for s in stages if s.pk != stage.pk and s.kind == stage.kind]  # type: ignore[attr-defined]
    return render(
        request,
        "crm/settings_pipelines.html",
        {
            "pipelines": pipelines,
            "pipeline": pipeline,
            "stages": stages,
            "new_stage_form": StageForm(
                prefix="new", initial={"color": STAGE_COLORS[len(stages) % len(STAGE_COLORS)]}
            ),
            "pipeline_form": PipelineForm(
                prefix="pipeline",
                initial={
                    "name": pipeline.name,
                    "is_default": pipeline.is_default,
                    "is_active": pipeline.is_active,
                },
            )
            if pipeline
            else None,
            "new_pipeline_form": PipelineForm(prefix="newpipeline", initial={"is_active": True}),
        },
    )


def _back_to(pipeline: Pipeline | None) -> HttpResponse:
    url = reverse("settings_pipelines")
    return redirect(f"{url}?pipeline={pipeline.pk}" if pipeline else url)


@login_required
@require_POST
def pipeline_save(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _configurer(request)
    pipeline = get_object_or_404(Pipeline, pk=pk) if pk else None
    form = PipelineForm(request.POST, prefix="pipeline" if pipeline else "newpipeline")
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back_to(pipeline)
    data = form.cleaned_data
    try:
        if pipeline is None:
            pipeline = services.pipeline_create(
                actor=user,
                name=data["name"],
                is_default=data["is_default"],
                stages=[
                    {"name": _("New"), "kind": Stage.Kind.OPEN, "color": STAGE_COLORS[0]},
                    {"name": _("Won"), "kind": Stage.Kind.WON, "color": "#198754"},
                    {"name": _("Lost"), "kind": Stage.Kind.LOST, "color": "#dc3545"},
                ],
            )
            messages.success(request, _("Pipeline “%(name)s” created.") % {"name": pipeline.name})
        else:
            services.pipeline_update(actor=user, pipeline=pipeline, **data)
            messages.success(request, _("Pipeline saved."))
    except (ValidationError, ConflictError) as exc:
        _refusal(request, exc)
    return _back_to(pipeline)


@login_required
@require_POST
def stage_add(request: HttpRequest, pipeline_pk: int) -> HttpResponse:
    user = _configurer(request)
    pipeline = get_object_or_404(Pipeline, pk=pipeline_pk)
    form = StageForm(request.POST, prefix="new")
    if form.is_valid():
        data = form.cleaned_data
        # New stages go before the first won/lost one: that is where work stages belong.
        closing = pipeline.stages.exclude(kind=Stage.Kind.OPEN).order_by("order").first()
        position = closing.order if closing is not None and data["kind"] == Stage.Kind.OPEN else None
        try:
            stage = services.stage_create(actor=user, pipeline=pipeline, position=position, **data)
            messages.success(request, _("Stage “%(name)s” added.") % {"name": stage.name})
        except (ValidationError, ConflictError) as exc:
            _refusal(request, exc)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return _back_to(pipeline)


@login_required
@require_POST
def stage_save(request: HttpRequest, pk: int) -> HttpResponse:
    user = _configurer(request)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    form = StageForm(request.POST, prefix=f"stage{stage.pk}")
    if form.is_valid():
        try:
            services.stage_update(actor=user, stage=stage, **form.cleaned_data)
            messages.success(request, _("Stage “%(name)s” saved.") % {"name": stage.name})
        except (ValidationError, ConflictError) as exc:
            _refusal(request, exc)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return _back_to(stage.pipeline)


@login_required
@require_POST
def stage_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = _configurer(request)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    move_to = None
    if target := int_or_none(request.POST.get("move_to")):
        move_to = Stage.objects.filter(pk=target, pipeline=stage.pipeline).first()
    name = stage.name
    try:
        moved = services.stage_delete(actor=user, stage=stage, move_to=move_to)
    except (ValidationError, ConflictError) as exc:
        _refusal(request, exc)
    else:
        if moved and move_to is not None:
            messages.success(
                request,
                _("Stage “%(name)s” deleted; %(count)s deals moved to “%(to)s”.")
                % {"name": name, "count": moved, "to": move_to.name},
            )
        else:
            messages.success(request, _("Stage “%(name)s” deleted.") % {"name": name})
    return _back_to(stage.pipeline)


@login_required
@require_POST
def stages_reorder(request: HttpRequest, pipeline_pk: int) -> JsonResponse:
    """The drag and drop of the editor: ``stages`` = every stage id in the new order."""
    user = _configurer(request)
    pipeline = get_object_or_404(Pipeline, pk=pipeline_pk)
    try:
        ids = [int(pk) for pk in json.loads(request.body or b"{}").get("stages", [])]
    except (ValueError, TypeError, AttributeError):
        return JsonResponse({"message": _("List every stage of the pipeline once.")}, status=400)
    try:
        services.stages_reorder(actor=user, pipeline=pipeline, stage_ids=ids)
    except ValidationError as exc:
        return JsonResponse({"message": " ".join(exc.messages)}, status=400)
    return JsonResponse({"message": _("The order of stages is saved.")})


# --- custom fields ---------------------------------------------------------------------------


@login_required
def custom_fields_page(request: HttpRequest) -> HttpResponse:
    user = _configurer(request)
    form = CustomFieldForm(initial={"entity": request.GET.get("entity") or CustomField.Entity.DEAL})
    if request.method == "POST":
        form = CustomFieldForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                field = services.custom_field_create(
                    actor=user,
                    entity=data["entity"],
                    code=data["code"],
                    name=data["name"],
                    type=data["type"],
                    options=form.options_list(),
                    required=data["required"],
                    in_list=data["in_list"],
                )
            except (ValidationError, ConflictError) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Field “%(name)s” added.") % {"name": field.name})
                return redirect(f"{reverse('settings_custom_fields')}?entity={field.entity}")
    groups = [
        {
            "entity": value,
            "label": label,
            "fields": list(CustomField.objects.filter(entity=value).order_by("order", "id")),
        }
        for value, label in CustomField.Entity.choices
    ]
    return render(request, "crm/settings_custom_fields.html", {"form": form, "groups": groups})


@login_required
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _configurer(request)
    field = get_object_or_404(CustomField, pk=pk)
    form = CustomFieldForm(field=field)
    if request.method == "POST":
        if request.POST.get("delete"):
            try:
                services.custom_field_delete(actor=user, field=field)
            except ConflictError as exc:
                messages.error(request, exc.message)
                return redirect("settings_custom_field", pk=field.pk)
            messages.success(request, _("Field “%(name)s” deleted.") % {"name": field.name})
            return redirect(f"{reverse('settings_custom_fields')}?entity={field.entity}")
        form = CustomFieldForm(request.POST, field=field)
        if form.is_valid():
            data = form.cleaned_data
            changes: dict[str, Any] = {
                "name": data["name"],
                "required": data["required"],
                "in_list": data["in_list"],
                "is_active": data["is_active"],
            }
            if field.type in (CustomField.Type.LIST, CustomField.Type.MULTI_LIST):
                changes["options"] = form.options_list()
            try:
                services.custom_field_update(actor=user, field=field, **changes)
            except (ValidationError, ConflictError) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Field “%(name)s” saved.") % {"name": field.name})
                return redirect(f"{reverse('settings_custom_fields')}?entity={field.entity}")
    return render(request, "crm/settings_custom_field.html", {"form": form, "field": field})


@login_required
@require_POST
def custom_values_edit(request: HttpRequest, entity: str, pk: int) -> HttpResponse:
    """Save a card's custom fields block."""
    user = signed_in(request)
    model = MODELS.get(entity)
    if model is None:
        raise Http404
    record = get_scoped_or_404(model._default_manager.all(), user, "change", pk=pk)
    form = CustomValuesForm(request.POST, record=record)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.custom_values_update(
                actor=user, record=record, custom=pop_custom(data), expected_version=data.get("version")
            )
        except (ValidationError, ConflictError) as exc:
            _refusal(request, exc)
        else:
            messages.success(request, _("Saved."))
    else:
        messages.error(
            request,
            " ".join(
                f"{form.fields[n].label}: {e}"
                for n, errs in form.errors.items()
                if n in form.fields
                for e in errs
            ),
        )
    return redirect_back(request, "home")

"""Channel settings shared by every channel's pages (administrators), and the intake log."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.views import admin_required
from otdel.comms import selectors
from otdel.comms.forms import (
    IntakeFilterForm,
)
from otdel.comms.intake import intake_retry, intake_retryable
from otdel.comms.models import (
    IntakeLog,
)
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.web.http import form_save

LIST_PAGE = 50


def public_base(request: HttpRequest) -> str:
    configured = str(getattr(settings, "OTDEL_PUBLIC_URL", "") or "")
    return (configured or request.build_absolute_uri("/")).rstrip("/")


def settings_page(request: HttpRequest, template: str, tab: str, **context: Any) -> HttpResponse:
    return render(request, template, {"channels_tab": tab, **context})


def settings_form_save(
    request: HttpRequest,
    form: Any,
    save: Callable[[], Any],
    success: str,
    redirect_to: Callable[[Any], HttpResponse],
) -> HttpResponse | None:
    """Validate, call the service, show its errors on the form; a redirect when it worked."""
    saved = form_save(form, save)
    if saved is None:
        return None
    messages.success(request, success)
    return redirect_to(saved)


@admin_required
def channels_home(request: HttpRequest) -> HttpResponse:
    return redirect("comms_telephony_list")


@admin_required
def intake_list(request: HttpRequest) -> HttpResponse:
    logs = scope(IntakeLog.objects.all(), request.user)
    providers = sorted(set(logs.values_list("provider", flat=True).distinct()))
    filter_form = IntakeFilterForm(request.GET or None, providers=providers)
    if filter_form.is_valid():
        if filter_form.cleaned_data.get("provider"):
            logs = logs.filter(provider=filter_form.cleaned_data["provider"])
        if filter_form.cleaned_data.get("status"):
            logs = logs.filter(status=filter_form.cleaned_data["status"])
    page = Paginator(logs.defer("body", "headers").order_by("-created_at", "-id"), LIST_PAGE).get_page(
        request.GET.get("page")
    )
    return settings_page(
        request,
        "comms/settings/intake_list.html",
        "intake",
        page=page,
        filter_form=filter_form,
        waiting=selectors.intake_waiting(user=request.user),
    )


@admin_required
@require_POST
def intake_retry_page(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_scoped_or_404(IntakeLog.objects.all(), request.user, pk=pk)
    if intake_retry(log, actor=request.user):
        if log.status == IntakeLog.Status.PROCESSED:
            messages.success(request, _("The delivery was processed again."))
        elif log.status == IntakeLog.Status.FAILED:
            messages.error(request, _("The delivery failed again; see the error below."))
        else:
            messages.success(request, _("The delivery is queued to be processed again."))
    else:
        messages.error(
            request, _("Only a delivery that failed while it was processed can be processed again.")
        )
    return redirect("comms_intake_detail", pk=log.pk)


@admin_required
def intake_detail(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_scoped_or_404(IntakeLog.objects.select_related("interaction"), request.user, pk=pk)
    body = log.body
    # Not JSON (a form post, a raw e-mail): shown as received.
    with contextlib.suppress(ValueError, TypeError):
        body = json.dumps(json.loads(body), ensure_ascii=False, indent=2)
    return settings_page(
        request,
        "comms/settings/intake_detail.html",
        "intake",
        log=log,
        body=body,
        headers=json.dumps(log.headers, ensure_ascii=False, indent=2) if log.headers else "",
        retryable=intake_retryable(log),
    )

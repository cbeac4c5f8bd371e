"""/healthz for load balancers, /metrics for Prometheus, and the administrator's status page."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from otdel.accounts.views import admin_required
from otdel.ops import selectors
from otdel.ops.health import health_report
from otdel.ops.metrics import CONTENT_TYPE, metrics_enabled, render_metrics, token_matches
from otdel.ops.tasks import backup_now

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """No login: numbers and check names only, no host names, paths, users or personal data."""
    report = health_report()
    response = JsonResponse(report, status=200 if report["status"] == "ok" else 503)
    if report["failing"]:
        # A load balancer probes every few seconds: one warning line each, not Django's error with a trace.
        logger.warning("healthz: failing %s", ", ".join(report["failing"]))
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_enabled():
        return JsonResponse({"errors": {"__all__": ["Not found."]}, "code": "not_found"}, status=404)
    if not token_matches(request.headers.get("Authorization", "")):
        response = JsonResponse(
            {"errors": {"__all__": ["A valid metrics token is required."]}, "code": "not_authenticated"},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="otdel-metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE)


@admin_required
def status_page(request: HttpRequest) -> HttpResponse:
    report = health_report()
    return render(
        request,
        "ops/status.html",
        {
            "report": report,
            "checks": report["checks"],
            "last_backup": selectors.backup_last_ok(),
            "backups": selectors.backup_recent(),
            "restores": selectors.restore_recent(),
            "lease": selectors.scheduler_lease(),
            "telephony": selectors.telephony_links(),
        },
    )


@admin_required
@require_POST
def backup_start(request: HttpRequest) -> HttpResponse:
    backup_now.enqueue()
    messages.success(request, _("The backup has been started; it appears below when done."))
    return redirect("ops_status")

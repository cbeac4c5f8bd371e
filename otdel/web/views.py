"""Pages of the web shell: the settings index and the setup checklist (administrators)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from otdel.accounts.permissions import is_admin, may_manage_routing
from otdel.web import setup


@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    """Every setting in one place; the top bar has a single "Settings" menu pointing here."""
    if not may_manage_routing(request.user):
        raise PermissionDenied
    return render(
        request, "web/settings_index.html", {"setup_open": is_admin(request.user) and setup.needs_setup()}
    )


@login_required
def setup_checklist(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied
    sections = setup.checklist()
    steps = [step for section in sections for step in section.steps]
    return render(
        request,
        "web/setup.html",
        {
            "sections": sections,
            "done_count": sum(step.done for step in steps),
            "step_count": len(steps),
            "routing_unset": setup.routing_unset(),
            "fallback": setup.fallback_person(),
            "database_is_new": setup.database_is_new(),
        },
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the static file."""
    return redirect(static("otdel/favicon.ico"), permanent=True)

"""The notification bell and the list of notifications."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from otdel.automation import selectors, services
from otdel.automation.models import Notification

PAGE = 50
# How often an open page asks for the unread count (seconds).
BELL_POLL_SECONDS = 60


@login_required
def bell(request: HttpRequest) -> HttpResponse:
    """The navbar bell with the unread count (htmx refreshes it)."""
    return render(
        request,
        "automation/_bell.html",
        {
            "unread": selectors.notification_unread_count(user=request.user),
            "poll_seconds": BELL_POLL_SECONDS,
        },
    )


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.notification_list(user=request.user).select_related("contact")
    page = Paginator(rows, PAGE).get_page(request.GET.get("page"))
    unread = selectors.notification_unread_count(user=request.user)
    return render(request, "automation/notification_list.html", {"page": page, "unread": unread})


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark it read and go where it points."""
    try:
        notification = services.notification_open(user=request.user, pk=pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    safe = url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()})
    return redirect(notification.url if notification.url and safe else "notification_list")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_read_all(user=request.user)
    return redirect("notification_list")

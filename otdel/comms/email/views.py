"""E-mail pages: mailboxes in the channel settings, polling one now."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks import TaskResultStatus

from otdel.accounts.views import admin_required
from otdel.comms.channels import settings_form_save, settings_page
from otdel.comms.email.selectors import mailbox_get, mailbox_list, mailbox_status
from otdel.comms.email.services import mailbox_create, mailbox_update
from otdel.comms.email.tasks import mailbox_sync_now
from otdel.comms.forms import (
    MailboxForm,
)
from otdel.web.http import redirect_back


@admin_required
def mailbox_list_page(request: HttpRequest) -> HttpResponse:
    rows = [{"mailbox": m, "status": mailbox_status(m)} for m in mailbox_list(user=request.user)]
    return settings_page(request, "comms/settings/mailbox_list.html", "mailboxes", rows=rows)


@admin_required
def mailbox_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    mailbox = mailbox_get(user=request.user, pk=pk) if pk is not None else None
    form = MailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST":

        def save() -> Any:
            fields = form.service_fields()
            if mailbox is None:
                return mailbox_create(actor=request.user, **fields)
            return mailbox_update(actor=request.user, mailbox=mailbox, version=form.read_version(), **fields)

        done = settings_form_save(
            request, form, save, _("Mailbox saved."), lambda m: redirect("comms_mailbox_edit", pk=m.pk)
        )
        if done is not None:
            return done
    return settings_page(
        request,
        "comms/settings/mailbox_form.html",
        "mailboxes",
        form=form,
        mailbox=mailbox,
        status=mailbox_status(mailbox) if mailbox is not None else "",
    )


@admin_required
@require_POST
def mailbox_sync_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The admin's "sync now": poll the mailbox in the background (at once with an inline task backend)."""
    mailbox = mailbox_get(user=request.user, pk=pk)
    queued = mailbox_sync_now.enqueue(mailbox.pk)
    if queued.status == TaskResultStatus.SUCCESSFUL:
        result = queued.return_value or {}
        if result.get("errors"):
            messages.error(
                request, _("Sync finished with errors: %(errors)s") % {"errors": "; ".join(result["errors"])}
            )
        else:
            messages.success(
                request, _("Synced: %(count)s new messages.") % {"count": result.get("created", 0)}
            )
    else:
        messages.info(request, _("Sync started; refresh this page in a minute."))
    return redirect_back(request, "comms_mailbox_list")

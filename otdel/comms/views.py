"""Comms pages: the timeline and reply box on cards, click-to-call, files, the inbox, channel settings."""

from __future__ import annotations

import contextlib
import mimetypes
import posixpath
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from otdel.accounts.models import User
from otdel.accounts.permissions import may_see_team, signed_in
from otdel.comms import selectors
from otdel.comms.email.sanitize import sanitize_html
from otdel.comms.email.send import email_send
from otdel.comms.forms import (
    EmailReplyForm,
    NoteReplyForm,
    TaskForm,
    TelegramReplyForm,
)
from otdel.comms.models import (
    Attachment,
    Direction,
    Interaction,
    InteractionKind,
    WebForm,
)
from otdel.comms.services import interaction_mark_handled
from otdel.comms.telegram.services import (
    telegram_send,
)
from otdel.comms.telephony.common import TelephonyError
from otdel.core.exceptions import ConflictError
from otdel.core.identity import format_phone
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm import selectors as crm_selectors
from otdel.crm import services as crm_services
from otdel.crm.forms import sales_users
from otdel.crm.models import Contact, Deal, Lead
from otdel.web.http import TIMELINE_REFRESH_EVENT, int_or_none, is_htmx, redirect_back

LIST_PAGE = 50
INBOX_TASKS = 100
EMAIL_THREADS = 10

# The chips above the timeline: (value of ?channel=, label).
CHANNEL_FILTERS: list[tuple[str, Any]] = [
    ("", gettext_lazy("All")),
    ("call", gettext_lazy("Calls")),
    ("email", gettext_lazy("E-mail")),
    ("telegram", "Telegram"),
    ("form", gettext_lazy("Forms")),
    ("note", gettext_lazy("Notes")),
    ("task", gettext_lazy("Tasks")),
]
CHANNEL_ICONS = {
    "call": "telephone",
    "email": "envelope",
    "telegram": "telegram",
    "whatsapp": "whatsapp",
    "form": "ui-checks",
    "chat": "chat-dots",
    "note": "sticky",
    "task": "check2-square",
    "meeting": "people",
}
FORM_LABELS = {
    "name": gettext_lazy("Name"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("E-mail"),
    "message": gettext_lazy("Message"),
}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "page_url")
# Files a browser may show in the page itself; anything else (HTML, SVG, PDF…) is downloaded, so a
# client's file never runs as a page of Otdel.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/")
REPLY_TABS = ("email", "telegram", "note", "task")
REFRESH_EVENT = TIMELINE_REFRESH_EVENT


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes:02d}:{rest:02d}"


def _survivor_id(contact_id: int | None) -> int | None:
    """A merged contact's interactions belong to the contact it was merged into."""
    seen: set[int] = set()
    current = contact_id
    while current is not None and current not in seen:
        seen.add(current)
        merged_into = Contact.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        if merged_into is None:
            return current
        current = merged_into
    return current


def _contact_visible(user: Any, contact_id: int | None) -> bool:
    if contact_id is None:
        return bool(getattr(user, "is_admin", False))
    survivor = _survivor_id(contact_id)
    return scope(Contact.objects.filter(pk__in={contact_id, survivor}), user).exists()


def _interaction_or_404(user: Any, pk: int) -> Interaction:
    """An interaction counts as the user's to see when its contact is (else 404, like any record)."""
    interaction = Interaction.objects.filter(pk=pk).first()
    if interaction is None or not _contact_visible(user, interaction.contact_id):
        raise Http404
    return interaction


def _file_response(file: Any, filename: str, content_type: str, inline: bool) -> FileResponse:
    try:
        handle = file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    inline = inline and content_type.startswith(INLINE_TYPES)
    return FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)


# --- cards: timeline -------------------------------------------------------------------------


def _subject(
    request: HttpRequest, subject: str, pk: int, action: str = "view"
) -> tuple[Contact | None, Deal | None]:
    if subject == "contact":
        return get_scoped_or_404(Contact.objects.all(), request.user, action, pk=pk), None
    deal = get_scoped_or_404(Deal.objects.select_related("contact"), request.user, action, pk=pk)
    return None, deal


def _subject_urls(subject: str, pk: int) -> dict[str, str]:
    return {
        "timeline_url": reverse(f"comms_{subject}_timeline", args=[pk]),
        "reply_url": reverse(f"comms_{subject}_reply", args=[pk]),
    }


def _form_context(items: list[selectors.TimelineItem]) -> dict[str, Any]:
    """What form submissions on the timeline need, fetched once: the forms' field labels by slug, and
    the leads of submissions stored without UTM keys (their UTM is read off the lead)."""
    forms = [item.obj for item in items if item.type == "interaction" and item.channel == "form"]
    payloads = [(obj, obj.payload if isinstance(obj.payload, dict) else {}) for obj in forms]
    slugs = {str(payload.get("form")) for _obj, payload in payloads if payload.get("form")}
    labels: dict[str, dict[str, str]] = {}
    for slug, definitions in WebForm.objects.filter(slug__in=slugs).values_list("slug", "fields"):
        labels[slug] = {
            str(d.get("name")): str(d.get("label") or "") for d in definitions or [] if isinstance(d, dict)
        }
    lead_ids = {
        obj.lead_id
        for obj, payload in payloads
        if obj.lead_id is not None and not any(key in payload for key in UTM_KEYS)
    }
    from otdel.privacy.models import ConsentPurpose

    codes = {str(code) for _obj, payload in payloads for code in (payload.get("consents") or {})}
    purposes = (
        dict(ConsentPurpose.objects.filter(code__in=codes).values_list("code", "title")) if codes else {}
    )
    return {
        "labels": labels,
        "leads": Lead.objects.in_bulk(lead_ids) if lead_ids else {},
        "purposes": purposes,
    }


def _form_rows(interaction: Interaction, context: dict[str, Any]) -> dict[str, Any]:
    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    own = context["labels"].get(str(payload.get("form")), {})
    fields = []
    for name, value in (payload.get("fields") or {}).items():
        if value in ("", None):
            continue
        if name == "phone":
            value = format_phone(str(value))
        elif isinstance(value, bool):
            value = _("yes") if value else _("no")
        fields.append((own.get(name) or FORM_LABELS.get(name) or name, value))
    utm = [(key, payload[key]) for key in UTM_KEYS if payload.get(key)]
    lead = context["leads"].get(interaction.lead_id)
    if not utm and lead is not None:
        utm = [(key, getattr(lead, key)) for key in UTM_KEYS if getattr(lead, key, "")]
    # A consent shows by its purpose's title ("Обработка персональных данных, версия 1"), not its code.
    titles = context.get("purposes", {})
    consents = sorted(
        (titles.get(str(code), str(code)), version)
        for code, version in (payload.get("consents") or {}).items()
    )
    return {"fields": fields, "utm": utm, "consents": consents}


def _timeline_rows(items: list[selectors.TimelineItem]) -> list[dict[str, Any]]:
    now = timezone.now()
    form_context = _form_context(items)
    rows = []
    for item in items:
        obj = item.obj
        row: dict[str, Any] = {"item": item, "obj": obj, "icon": CHANNEL_ICONS.get(item.channel, "dot")}
        if item.type == "interaction":
            payload = obj.payload if isinstance(obj.payload, dict) else {}
            row["attachments"] = list(obj.attachments.all())
            if obj.kind == InteractionKind.CALL:
                row["duration"] = _duration(obj.duration)
            elif obj.kind == InteractionKind.EMAIL:
                # The mail agent stores sanitized HTML; cleaning again is cheap and keeps the card safe
                # whatever wrote the payload.
                html = payload.get("html") if obj.provider.startswith("email:") else ""
                row["html"] = sanitize_html(html) if isinstance(html, str) and html.strip() else ""
                row["sender"] = payload.get("from") or ""
                row["recipients"] = ", ".join(str(a) for a in payload.get("to") or [])
            elif obj.kind == InteractionKind.FORM:
                row.update(_form_rows(obj, form_context))
        elif item.type == "task":
            row["overdue"] = obj.done_at is None and obj.due_at is not None and obj.due_at < now
        rows.append(row)
    return rows


@login_required
def timeline(request: HttpRequest, subject: str, pk: int) -> HttpResponse:
    """The card's timeline partial (htmx), optionally one channel only."""
    contact, deal = _subject(request, subject, pk)
    channel = request.GET.get("channel") or ""
    if channel not in dict(CHANNEL_FILTERS):
        channel = ""
    before = None
    with contextlib.suppress(ValueError):  # a mangled cursor: the first page
        before = selectors.TimelineCursor.decode(request.GET.get("before", ""))
    items, after = selectors.timeline_page(
        user=request.user, contact=contact, deal=deal, channels=[channel] if channel else None, before=before
    )
    urls = _subject_urls(subject, pk)
    more_url = ""
    if after is not None:
        more_url = f"{urls['timeline_url']}?{urlencode({'channel': channel, 'before': after.encode()})}"
    return render(
        request,
        # "Show older" asks for the rows after the cursor only; they replace the button.
        "comms/_timeline_page.html" if before is not None else "comms/_timeline.html",
        {
            "rows": _timeline_rows(items),
            "more_url": more_url,
            "channel": channel,
            "filters": CHANNEL_FILTERS,
            "refresh_event": REFRESH_EVENT,
            **urls,
        },
    )


# --- cards: reply box ------------------------------------------------------------------------


def _email_threads(contact: Contact, also: int | None = None) -> list[tuple[int, str]]:
    """The client's latest e-mail threads, newest first: (the thread's latest message, label).

    ``also``: an older e-mail of the client that is being answered (its "Reply" button was used).
    """
    emails = Interaction.objects.filter(
        Q(contact=contact) | Q(contact__merged_into=contact), kind=InteractionKind.EMAIL
    ).only("pk", "subject", "thread_key", "message_id", "occurred_at")

    def label(row: Interaction) -> str:
        when = formats.date_format(timezone.localtime(row.occurred_at), "SHORT_DATETIME_FORMAT")
        return f"{row.subject or _('(no subject)')} · {when}"

    threads: list[tuple[int, str]] = []
    seen: set[str] = set()
    for row in emails.order_by("-occurred_at", "-id")[:100]:
        key = row.thread_key or row.message_id or f"#{row.pk}"
        if key in seen:
            continue
        seen.add(key)
        threads.append((row.pk, label(row)))
        if len(threads) >= EMAIL_THREADS:
            break
    if also is not None and also not in {pk for pk, _label in threads}:
        older = emails.filter(pk=also).first()
        if older is not None:
            threads.append((older.pk, label(older)))
    return threads


def _assignees(user: Any) -> QuerySet[User]:
    return (sales_users() | User.objects.filter(pk=user.pk)).distinct()


def _reply_forms(
    request: HttpRequest, client: Contact | None, data: Any = None, tab: str = "", reply_to: int | None = None
) -> dict[str, Any]:
    if reply_to is None and data is not None:
        reply_to = int_or_none(data.get("email-reply_to"))
    threads = _email_threads(client, also=reply_to) if client is not None else []
    ids = [pk for pk, _label in threads]
    chosen = reply_to if reply_to in ids else (ids[0] if ids else None)
    bound = {name: (data if name == tab else None) for name in REPLY_TABS}
    return {
        "email": EmailReplyForm(
            bound["email"], threads=threads, prefix="email", initial={"reply_to": chosen}
        ),
        "telegram": TelegramReplyForm(bound["telegram"], prefix="telegram"),
        "note": NoteReplyForm(bound["note"], prefix="note"),
        "task": TaskForm(bound["task"], prefix="task", assignees=_assignees(request.user)),
    }


def _reply_send(
    request: HttpRequest,
    tab: str,
    form: Any,
    client: Contact | None,
    contact: Contact | None,
    deal: Deal | None,
) -> str:
    """Call the one service of the tab; returns what to tell the user."""
    user = signed_in(request)
    data = form.cleaned_data
    if tab == "note":
        crm_services.note_create(actor=user, body=data["body"], contact=contact, deal=deal)
        return _("Note added.")
    if tab == "task":
        crm_services.task_create(
            actor=user,
            title=data["title"],
            kind=data["kind"],
            due_at=data.get("due_at"),
            assignee=data.get("assignee") or user,
            contact=client,
            deal=deal,
        )
        return _("Task created.")
    if client is None:
        raise ValidationError(_("The deal has no contact to write to."))
    if tab == "email":
        reply_to = None
        if data.get("reply_to"):
            reply_to = Interaction.objects.filter(
                Q(contact=client) | Q(contact__merged_into=client),
                kind=InteractionKind.EMAIL,
                pk=data["reply_to"],
            ).first()
            if reply_to is None:
                raise ValidationError({"reply_to": _("Choose an e-mail of this contact.")})
        email_send(
            actor=user,
            contact=client,
            subject=data.get("subject") or "",
            body=data["body"],
            reply_to=reply_to,
        )
        return _("E-mail sent.")
    telegram_send(actor=user, contact=client, text=data["text"])
    return _("Message sent.")


@login_required
def reply(request: HttpRequest, subject: str, pk: int) -> HttpResponse:
    """The reply box of a card: GET shows it, POST sends an e-mail or a Telegram message, or adds a note/task."""
    contact, deal = _subject(request, subject, pk, "change" if request.method == "POST" else "view")
    client = contact if contact is not None else deal.contact if deal is not None else None
    tab = request.POST.get("tab") or request.GET.get("tab") or ("email" if client is not None else "note")
    if tab not in REPLY_TABS:
        tab = "email"
    done = ""
    if request.method == "POST":
        forms = _reply_forms(request, client, request.POST, tab)
        form = forms[tab]
        if form.is_valid():
            try:
                done = _reply_send(request, tab, form, client, contact, deal)
            except (ValidationError, ConflictError, TelephonyError) as exc:
                if isinstance(exc, TelephonyError):
                    exc = ValidationError(str(exc))
                form.add_service_error(exc)
            else:
                forms = _reply_forms(request, client, tab=tab)
        if not is_htmx(request):
            if done:
                messages.success(request, done)
            for errors in forms[tab].errors.values():
                for error in errors:
                    messages.error(request, str(error))
            return redirect(f"{subject}_detail", pk=pk)
    else:
        forms = _reply_forms(request, client, reply_to=int_or_none(request.GET.get("reply_to")))
    phones = list(client.identities.filter(kind="phone")) if client is not None and deal is not None else []
    response = render(
        request,
        "comms/_reply_box.html",
        {
            "forms": forms,
            "tab": tab,
            "done": done,
            "client": client,
            "deal": deal,
            "phones": phones,
            "has_telegram": client is not None and client.identities.filter(kind="telegram").exists(),
            **_subject_urls(subject, pk),
        },
    )
    if done:
        response["HX-Trigger"] = REFRESH_EVENT
    return response


# --- files -----------------------------------------------------------------------------------


@login_required
def recording(request: HttpRequest, pk: int) -> FileResponse:
    """A call's recording, streamed to whoever may see the call's contact."""
    interaction = _interaction_or_404(request.user, pk)
    if not interaction.recording_file:
        raise Http404
    name = posixpath.basename(interaction.recording_file.name) or f"call-{interaction.pk}.mp3"
    return _file_response(interaction.recording_file, name, "", inline=True)


@login_required
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A file of an e-mail or message, for whoever may see its contact; shown inline only when harmless."""
    item = Attachment.objects.select_related("interaction").filter(pk=pk).first()
    if item is None or not item.file or not _contact_visible(request.user, item.interaction.contact_id):
        raise Http404
    return _file_response(
        item.file, item.filename, item.content_type, inline=request.GET.get("inline") == "1"
    )


# --- inbox -----------------------------------------------------------------------------------


def _inbox_users(viewer: Any) -> QuerySet[User]:
    """Whose inbox the viewer may open (``scope(..., "inbox")``)."""
    return scope(User.objects.all(), viewer, "inbox")


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Unanswered inbound calls, e-mails, messages and forms routed to the user, and their open tasks."""
    viewer = request.user
    target: Any = viewer
    wanted = request.GET.get("user")
    if wanted:
        target = _inbox_users(viewer).filter(pk=int_or_none(wanted) or 0).first()
        if target is None:
            raise Http404
    page = Paginator(selectors.inbox(user=target), LIST_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    tasks = [
        {"task": task, "overdue": task.due_at is not None and task.due_at < now}
        for task in crm_selectors.task_open_for(user=target)[:INBOX_TASKS]
    ]
    can_pick = may_see_team(viewer)
    return render(
        request,
        "comms/inbox.html",
        {
            "page": page,
            "rows": [
                {
                    "obj": obj,
                    "icon": CHANNEL_ICONS.get(obj.channel, "dot"),
                    "summary": selectors.interaction_summary(obj),
                }
                for obj in page.object_list
            ],
            "tasks": tasks,
            "target": target,
            "users": list(_inbox_users(viewer).order_by("full_name", "username")) if can_pick else [],
            "next_url": request.get_full_path(),
        },
    )


@login_required
@require_POST
def mark_handled(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = Interaction.objects.filter(
        pk=pk, direction=Direction.IN, routed_to__in=_inbox_users(request.user)
    ).first()
    if interaction is None:
        raise Http404
    interaction_mark_handled(actor=request.user, interaction=interaction)  # type: ignore[arg-type]
    if not is_htmx(request):
        messages.success(request, _("Marked as handled."))
        return redirect_back(request, "comms_inbox")
    response = HttpResponse("")
    response["HX-Trigger"] = REFRESH_EVENT
    return response

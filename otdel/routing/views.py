"""Routing pages: non-target marks and inbox, blocked numbers, settings, queues, the log, what-if."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.accounts.models import Absence
from otdel.accounts.permissions import (
    may_handle_non_target,
    may_manage_routing,
    may_overrule_triage,
    signed_in,
)
from otdel.comms.models import Interaction
from otdel.comms.selectors import interaction_summary
from otdel.core.exceptions import ConflictError
from otdel.core.identity import IdentityKind, format_phone, guess_identity
from otdel.core.scoping import get_scoped_or_404
from otdel.crm import selectors as crm_selectors
from otdel.crm.forms import use_picker
from otdel.crm.models import Contact
from otdel.routing import nontarget, services
from otdel.routing.explain import explain, people_in_rules
from otdel.routing.forms import (
    BlockIdentityForm,
    DecisionFilterForm,
    NonTargetForm,
    QueueForm,
    RoutingSettingsForm,
    WhatIfForm,
)
from otdel.routing.models import BlockedIdentity, Queue, QueueMember, RoutingDecision, RoutingSettings
from otdel.web.http import form_save

View = Callable[..., HttpResponse]
LOG_PAGE = 50
INBOX_PAGE = 50
INTERACTIONS_SHOWN = 30


def _only_for(test: Callable[[Any], bool]) -> Callable[[View], View]:
    """These pages exist only for some roles: anyone else gets a plain 404, never a 403."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not test(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


routing_manager_required = _only_for(may_manage_routing)
non_target_required = _only_for(may_handle_non_target)


def _service_messages(exc: ValidationError | ConflictError | PermissionDenied) -> list[str]:
    if isinstance(exc, ConflictError):
        return [exc.message]
    if isinstance(exc, PermissionDenied):
        return [str(exc) or _("You cannot do this.")]
    return list(exc.messages)


# --- marking a contact non-target, restoring it -------------------------------------------------


@non_target_required
def contact_mark_non_target(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("contact_detail", pk=pk)
    user = signed_in(request)
    contact = get_scoped_or_404(Contact.objects.filter(merged_into__isnull=True), user, "change", pk=pk)
    form = NonTargetForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("contact_detail", pk=contact.pk)
    try:
        nontarget.contact_mark_non_target(actor=user, contact=contact, reason=form.cleaned_data["reason"])
    except (ValidationError, ConflictError) as exc:
        for message in _service_messages(exc):
            messages.error(request, message)
        return redirect("contact_detail", pk=contact.pk)
    reason = dict(form.fields["reason"].choices).get(form.cleaned_data["reason"])  # type: ignore[attr-defined]
    messages.success(
        request,
        _("“%(name)s” is non-target (%(reason)s): their calls and messages no longer reach sales.")
        % {"name": contact.full_name, "reason": reason},
    )
    # A head of sales no longer sees a non-target card; the non-target inbox still lists it.
    if crm_selectors.contact_list(user=user).filter(pk=contact.pk).exists():
        return redirect("contact_detail", pk=contact.pk)
    return redirect("non_target_inbox")


@non_target_required
def contact_restore_target(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("non_target_inbox")
    user = signed_in(request)
    contact = get_object_or_404(crm_selectors.non_target_contact_list(user=user), pk=pk)
    try:
        contact = nontarget.contact_restore_target(actor=user, contact=contact)
    except (ValidationError, ConflictError, PermissionDenied) as exc:
        for message in _service_messages(exc):
            messages.error(request, message)
        return redirect("non_target_inbox")
    messages.success(
        request,
        _("“%(name)s” is a target client again; their leads are back in triage.")
        % {"name": contact.full_name},
    )
    if request.POST.get("next") == "inbox":
        return redirect("non_target_inbox")
    if crm_selectors.contact_list(user=user).filter(pk=contact.pk).exists():
        return redirect("contact_detail", pk=contact.pk)
    return redirect("non_target_inbox")


# --- the non-target inbox and blocked numbers ----------------------------------------------------


def _inbox_interactions(user: Any) -> list[dict[str, Any]]:
    """Latest traffic from non-target people: what was routed to this user (everything for supervisors)."""
    qs = Interaction.objects.filter(contact__non_target=True).select_related("contact", "routed_to")
    if not may_manage_routing(user):
        codes = list(Queue.objects.filter(memberships__user=user).values_list("code", flat=True))
        qs = qs.filter(Q(routed_to=user) | Q(routed_to__isnull=True, routed_queue__in=codes))
    return [
        {"item": row, "summary": interaction_summary(row)}
        for row in qs.order_by("-occurred_at", "-id")[:INTERACTIONS_SHOWN]
    ]


def _display_identity(kind: str, value: str) -> str:
    return format_phone(value) if kind in (IdentityKind.PHONE, IdentityKind.WHATSAPP) else value


def _inbox_context(request: HttpRequest, block_form: BlockIdentityForm | None = None) -> dict[str, Any]:
    user = request.user
    contacts = crm_selectors.non_target_contact_list(user=user).order_by("-updated_at", "-id")
    page = Paginator(contacts, INBOX_PAGE).get_page(request.GET.get("page"))
    blocked = [
        {"block": block, "display": _display_identity(block.kind, block.value)}
        for block in BlockedIdentity.objects.select_related("created_by").order_by("-created_at")[:200]
    ]
    return {
        "page": page,
        "interactions": _inbox_interactions(user),
        "blocked": blocked,
        "block_form": block_form or BlockIdentityForm(),
        "may_restore": may_overrule_triage(user),
    }


@non_target_required
def non_target_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "routing/non_target_inbox.html", _inbox_context(request))


@non_target_required
def blocked_identity_add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("non_target_inbox")
    form = BlockIdentityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            block = services.identity_block(
                actor=request.user,
                kind=data["kind"],
                value=data["value"],
                reason=data["reason"],
                comment=data["comment"],
            )
        except (ValidationError, ConflictError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("%(value)s is blocked: its traffic goes to the non-target destination.")
                % {"value": _display_identity(block.kind, block.value)},
            )
            return redirect("non_target_inbox")
    return render(request, "routing/non_target_inbox.html", _inbox_context(request, form), status=200)


@non_target_required
def blocked_identity_remove(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("non_target_inbox")
    block = get_object_or_404(BlockedIdentity, pk=pk)
    shown = _display_identity(block.kind, block.value)
    services.identity_unblock(actor=request.user, block=block)
    messages.success(request, _("%(value)s is no longer blocked.") % {"value": shown})
    return redirect("non_target_inbox")


# --- routing settings ----------------------------------------------------------------------------


@routing_manager_required
def routing_settings(request: HttpRequest) -> HttpResponse:
    current = RoutingSettings.load()
    form = RoutingSettingsForm(request.POST or None, current=current)
    if (
        request.method == "POST"
        and form_save(
            form, lambda: services.routing_settings_update(actor=request.user, **form.service_fields())
        )
        is not None
    ):
        messages.success(request, _("Routing settings saved."))
        return redirect("routing_settings")
    return render(request, "routing/settings.html", {"form": form, "routing_tab": "settings"})


# --- queues --------------------------------------------------------------------------------------


def _memberships(queues: Iterable[Queue]) -> dict[int, list[QueueMember]]:
    by_queue: dict[int, list[QueueMember]] = {}
    rows = (
        QueueMember.objects.filter(queue__in=list(queues)).select_related("user").order_by("user__full_name")
    )
    for membership in rows:
        by_queue.setdefault(membership.queue_id, []).append(membership)
    return by_queue


@routing_manager_required
def queue_list(request: HttpRequest) -> HttpResponse:
    queues = list(Queue.objects.select_related("duty_user").order_by("name"))
    members = _memberships(queues)
    current = RoutingSettings.load()
    rows = [
        {
            "queue": queue,
            "members": members.get(queue.pk, []),
            "is_default": queue.pk == current.default_queue_id,
            "is_non_target": queue.pk == current.non_target_queue_id,
        }
        for queue in queues
    ]
    return render(request, "routing/queue_list.html", {"rows": rows, "routing_tab": "queues"})


@routing_manager_required
def queue_create(request: HttpRequest) -> HttpResponse:
    form = QueueForm(request.POST or None)
    if (
        request.method == "POST"
        and (
            queue := form_save(
                form,
                lambda: services.queue_create(
                    actor=request.user, code=form.cleaned_data["code"], **form.service_fields()
                ),
            )
        )
        is not None
    ):
        messages.success(request, _("Queue “%(name)s” created.") % {"name": queue.name})
        return redirect("queue_list")
    return render(request, "routing/queue_form.html", {"form": form, "queue": None, "routing_tab": "queues"})


@routing_manager_required
def queue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=pk)
    form = QueueForm(request.POST or None, queue=queue)
    if (
        request.method == "POST"
        and form_save(
            form, lambda: services.queue_update(actor=request.user, queue=queue, **form.service_fields())
        )
        is not None
    ):
        messages.success(request, _("Queue “%(name)s” saved.") % {"name": queue.name})
        return redirect("queue_list")
    return render(
        request,
        "routing/queue_form.html",
        {
            "form": form,
            "queue": queue,
            "members": _memberships([queue]).get(queue.pk, []),
            "routing_tab": "queues",
        },
    )


def _input_text(data: Any) -> str:
    """The recorded input as a person reads it: "+7 912 345-67-89 · zadarma · queue sales"."""
    if not isinstance(data, dict):
        return str(data or "")
    parts: list[str] = []
    identity = data.get("identity")
    if isinstance(identity, (list, tuple)) and len(identity) == 2:
        parts.append(_display_identity(str(identity[0]), str(identity[1])))
    for key in ("caller", "called"):
        if data.get(key):
            parts.append(f"{key}: {data[key]}")
    if data.get("provider"):
        parts.append(str(data["provider"]))
    if data.get("queue"):
        parts.append(_("queue %(code)s") % {"code": data["queue"]})
    return " · ".join(parts) or "—"


# --- the routing log -----------------------------------------------------------------------------


def _filtered_decisions(form: DecisionFilterForm) -> Any:
    qs = RoutingDecision.objects.select_related("user", "queue", "contact").order_by("-created_at", "-id")
    if not form.is_valid():
        return qs
    data = form.cleaned_data
    if data["channel"]:
        qs = qs.filter(channel=data["channel"])
    if data["reason"]:
        qs = qs.filter(reason=data["reason"])
    if data["user"]:
        qs = qs.filter(user=data["user"])
    if data["contact"]:
        qs = qs.filter(contact_id=data["contact"])
    zone = timezone.get_current_timezone()
    if data["date_from"]:
        qs = qs.filter(created_at__gte=datetime.datetime.combine(data["date_from"], datetime.time.min, zone))
    if data["date_to"]:
        end = data["date_to"] + datetime.timedelta(days=1)
        qs = qs.filter(created_at__lt=datetime.datetime.combine(end, datetime.time.min, zone))
    return qs


@routing_manager_required
def routing_log(request: HttpRequest) -> HttpResponse:
    form = DecisionFilterForm(request.GET or None)
    use_picker(form.fields["contact"], "contact_pick", Contact.objects.filter(merged_into__isnull=True))
    page = Paginator(_filtered_decisions(form), LOG_PAGE).get_page(request.GET.get("page"))
    decisions = list(page.object_list)
    people = people_in_rules(d.rule for d in decisions)
    rows = [
        {
            "decision": d,
            "input": _input_text(d.input),
            "explanation": explain(reason=d.reason, rule=d.rule, user=d.user, queue=d.queue, people=people),
        }
        for d in decisions
    ]
    return render(
        request,
        "routing/log.html",
        {"filter_form": form, "page": page, "rows": rows, "routing_tab": "log"},
    )


# --- what-if -------------------------------------------------------------------------------------


def _queue_at(queue: Queue, moment: datetime.datetime) -> list[dict[str, Any]]:
    """Who of the queue could take traffic at ``moment``: what the tester shows beside the answer."""
    day = moment.date()
    members = list(QueueMember.objects.filter(queue=queue).select_related("user").order_by("user__full_name"))

    absent = set(
        Absence.objects.filter(
            user_id__in=[m.user_id for m in members], start__lte=day, end__gte=day
        ).values_list("user_id", flat=True)
    )
    return [
        {
            "user": m.user,
            "membership": m,
            "absent": m.user_id in absent,
            "at_work": m.user.is_active and m.user_id not in absent and m.user.works_at(moment),
        }
        for m in members
    ]


def _off_hours_note(queue: Queue | None) -> str:
    """What the queue does when none of its members works: said beside a what-if answer."""
    if queue is None:
        return ""
    if queue.off_hours == "duty" and queue.duty_user is not None:
        return _("Nobody in the queue is at work then: the duty person %(user)s takes it.") % {
            "user": queue.duty_user.get_full_name()
        }
    if queue.off_hours == "voicemail" and queue.voicemail:
        return _("Nobody in the queue is at work then: calls go to voicemail %(voicemail)s.") % {
            "voicemail": queue.voicemail
        }
    return _(
        "Nobody in the queue is at work then: whoever's turn it is gets it for the next working morning."
    )


@routing_manager_required
def routing_what_if(request: HttpRequest) -> HttpResponse:
    form = WhatIfForm(request.GET or None)
    result: dict[str, Any] | None = None
    if request.GET and form.is_valid():
        data = form.cleaned_data
        moment = timezone.localtime(data["at"] or timezone.now())
        guess = guess_identity(data["identity"])
        contact = crm_selectors.contact_by_identity(kind=guess[0], value=guess[1]) if guess else None
        destination = services.routing_decide(
            contact=contact,
            channel=data["channel"],
            queue=data["queue"],
            now=moment,
            assign=False,
            identity=guess,
        )
        people = people_in_rules([destination.rule])
        members = (
            _queue_at(destination.queue, moment)
            if destination.queue is not None and destination.user is None
            else []
        )
        contact_visible = (
            contact is not None
            and crm_selectors.contact_list(user=request.user).filter(pk=contact.pk).exists()
        )
        result = {
            "moment": moment,
            "identity": _display_identity(*guess) if guess else "",
            "recognized": guess is not None,
            "contact": contact,
            "contact_visible": contact_visible,
            "destination": destination,
            "reason_label": dict(RoutingDecision.Reason.choices).get(destination.reason, destination.reason),
            "explanation": explain(
                reason=destination.reason,
                rule=destination.rule,
                user=destination.user,
                queue=destination.queue,
                people=people,
            ),
            "queue_members": members,
            "off_hours": _off_hours_note(destination.queue)
            if members and not any(m["at_work"] for m in members)
            else "",
            "voicemail": destination.extra.get("voicemail", ""),
        }
    return render(request, "routing/what_if.html", {"form": form, "result": result, "routing_tab": "what_if"})

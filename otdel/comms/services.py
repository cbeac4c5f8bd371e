"""``ingest_event``: the one inbound path. Adapters parse provider payloads into an InboundEvent;
everything after that (idempotency, identity resolution, lead or deal, routing, tasks) is here."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.comms.models import CallState, CallStatus, Direction, Interaction, InteractionKind
from otdel.core.events import CallMissed, InteractionReceived, emit
from otdel.core.identity import format_phone, normalize_identity
from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Deal, Identity, Lead, LeadSource, Stage, Task, Verdict
from otdel.crm.selectors import contact_by_identity
from otdel.routing.models import Queue, RoutingSettings
from otdel.routing.nontarget import blocked_reason, contact_mark_blocked, keeps_away_from_sales
from otdel.routing.services import Destination, routing_decide, routing_decision_record

logger = logging.getLogger(__name__)

CALL_EVENT_STATE = {"ringing": CallState.RINGING, "answered": CallState.ANSWERED, "ended": CallState.ENDED}
CHANNEL_LEAD_SOURCE = {
    "call": LeadSource.CALL,
    "email": LeadSource.EMAIL,
    "telegram": LeadSource.MESSENGER,
    "whatsapp": LeadSource.MESSENGER,
    "chat": LeadSource.MESSENGER,
    "form": LeadSource.FORM,
}


@dataclass
class InboundEvent:
    """What an adapter knows about one event, in Otdel's words."""

    provider: str
    kind: str
    channel: str
    occurred_at: datetime.datetime
    external_id: str = ""
    direction: str = Direction.IN
    # The client's side: how they reached us (raw; normalized here) and any other ways they gave.
    identity_kind: str | None = None
    identity_value: str | None = None
    extra_identities: list[tuple[str, str]] = field(default_factory=list)
    contact_name: str = ""
    subject: str = ""
    body: str = ""
    summary: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    employee: User | None = None
    queue: Queue | None = None
    lead_fields: dict[str, str] = field(default_factory=dict)
    create_lead: bool = True
    # False for what the client's app sent by itself (a Telegram "share my phone" button, /start):
    # on the timeline, never waiting in the Inbox for an answer.
    awaits_reply: bool = True
    # Calls
    call_event: str = ""
    call_status: str = ""
    caller: str = ""
    called: str = ""
    extension: str = ""
    duration: int | None = None
    recording_url: str = ""
    # E-mail
    message_id: str = ""
    thread_key: str = ""


@dataclass
class IngestResult:
    interaction: Interaction
    created: bool
    destination: Destination | None = None


def ingest_event(event: InboundEvent) -> IngestResult:
    """Store one inbound (or outbound) event on the client's timeline, exactly once.

    Delivering the same (provider, external_id) again, in any order, updates the same row and
    only moves a call's state forward.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _ingest(event)
        except IntegrityError:
            # A concurrent delivery of the same event or the same new identity won the race:
            # the retry finds its row and merges into it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ingest(event: InboundEvent) -> IngestResult:
    if event.external_id:
        existing = (
            Interaction.objects.select_for_update()
            .filter(provider=event.provider, external_id=event.external_id)
            # Repeats the partial index's condition so SQLite can use it (else a full scan).
            .exclude(external_id="")
            .order_by()
            .first()
        )
        if existing is not None:
            _merge_forward(existing, event)
            return IngestResult(existing, created=False)

    contact, identity = _resolve_contact(event)
    employee = event.employee or (_user_by_extension(event.extension) if event.extension else None)
    interaction = Interaction(
        kind=event.kind,
        channel=event.channel,
        direction=event.direction,
        provider=event.provider,
        external_id=event.external_id,
        occurred_at=event.occurred_at,
        user=employee,
        subject=event.subject[:500],
        body=event.body,
        summary=(event.summary or event.subject)[:500],
        caller=event.caller[:64],
        called=event.called[:64],
        extension=event.extension[:16],
        recording_url=event.recording_url,
        message_id=event.message_id[:500],
        thread_key=(event.thread_key or event.message_id)[:500],
        payload=event.payload,
    )
    if employee is not None:
        interaction.routed_to = employee
    if event.direction != Direction.IN:
        # Our own outgoing message or call needs no answer.
        interaction.handled_by, interaction.handled_at = employee, event.occurred_at
    elif not event.awaits_reply:
        interaction.handled_at = event.occurred_at  # a system message: nothing to answer
    destination = _place(interaction, event, contact, identity)
    if event.kind == InteractionKind.CALL:
        _apply_call(interaction, event)
    with transaction.atomic():
        interaction.save()
    _after_call_change(interaction, previous_state=CallState.NONE)
    emit(InteractionReceived(interaction_id=interaction.pk))
    return IngestResult(interaction, created=True, destination=destination)


# --- identity resolution -------------------------------------------------------------------


def _normalized(kind: str | None, raw: str | None) -> tuple[str, str] | None:
    if not kind or not raw:
        return None
    try:
        return kind, normalize_identity(kind, raw)
    except ValidationError:
        return None


def _resolve_contact(event: InboundEvent) -> tuple[Contact | None, Identity | None]:
    """Find who this is by any identity they used; create the contact when nobody matches."""
    primary = _normalized(event.identity_kind, event.identity_value)
    others = [p for p in (_normalized(k, v) for k, v in event.extra_identities) if p and p != primary]
    pairs = [p for p in [primary, *others] if p]
    if not pairs:
        return None, None
    contact = None
    for kind, value in pairs:
        contact = contact_by_identity(kind=kind, value=value)
        if contact is not None:
            break
    if contact is None:
        name = (event.contact_name or "").strip() or _default_name(pairs[0])
        contact = crm_services.contact_create(actor=None, full_name=name[:255])
        blocked = blocked_reason(pairs)
        if blocked is not None:  # a blocked number's new person is non-target from the start
            contact_mark_blocked(contact=contact, reason=blocked)
        from otdel.privacy.destruction import tombstones_seen

        tombstones_seen(pairs)  # a destroyed person came back: counted, never linked to the old data
    # Remember every new way this person reached us (only ones nobody else holds).
    crm_services.identities_remember(contact=contact, pairs=pairs)
    identity = Identity.objects.filter(kind=pairs[0][0], value=pairs[0][1]).first()
    return contact, identity


def _default_name(pair: tuple[str, str]) -> str:
    kind, value = pair
    if kind == "phone":
        return format_phone(value)
    return value


def _user_by_extension(extension: str) -> User | None:
    return User.objects.filter(extension=extension, is_active=True).first()


# --- leads and deals -----------------------------------------------------------------------


def open_deal(contact: Contact) -> Deal | None:
    """The contact's most recently touched deal still in progress."""
    return (
        Deal.objects.filter(contact=contact, stage__kind=Stage.Kind.OPEN)
        .order_by("-updated_at", "-id")
        .first()
    )


def _attach_to_work(
    interaction: Interaction, contact: Contact, event: InboundEvent, destination: Destination | None
) -> None:
    """Repeat inquiries attach to the open deal or lead by the configured rule; new ones make a lead."""
    rule = RoutingSettings.load().repeat_rule
    deal = open_deal(contact)
    open_lead = contact.leads.exclude(status=Lead.Status.CLOSED).order_by("-created_at", "-id").first()
    if rule != RoutingSettings.RepeatRule.NEW_LEAD:
        if deal is not None:
            interaction.deal = deal
            return
        if open_lead is not None:
            interaction.lead = open_lead
            interaction.deal = open_lead.deal
            return
        if rule == RoutingSettings.RepeatRule.REOPEN:
            last = contact.leads.exclude(verdict=Verdict.NON_TARGET).order_by("-created_at", "-id").first()
            if last is not None:
                interaction.lead = crm_services.lead_reopen(actor=None, lead=last)
                return
    if not event.create_lead:
        interaction.deal = deal
        return
    interaction.lead = crm_services.lead_create(
        actor=None,
        contact=contact,
        source=CHANNEL_LEAD_SOURCE.get(event.channel, LeadSource.MANUAL),
        channel=event.channel,
        responsible=destination.user if destination is not None else None,
        comment=(event.summary or event.subject or event.body)[:2000],
        **{k: (v or "")[:1000] for k, v in event.lead_fields.items()},
    )
    interaction.deal = deal


# --- calls ---------------------------------------------------------------------------------


def _apply_call(interaction: Interaction, event: InboundEvent) -> None:
    """Move the call's state forward only; fill what this event knows and the row doesn't yet."""
    at = event.occurred_at
    if event.recording_url:
        interaction.recording_url = event.recording_url
    if event.extension and not interaction.extension:
        interaction.extension = event.extension[:16]
        interaction.user = interaction.user or _user_by_extension(event.extension)
    state = CALL_EVENT_STATE.get(event.call_event)
    if state is None:
        if event.call_status and interaction.call_state == CallState.ENDED and not interaction.status:
            interaction.status = event.call_status
        return
    if state == CallState.RINGING and interaction.call_state == CallState.NONE:
        interaction.occurred_at = min(interaction.occurred_at, at)
    if state == CallState.ANSWERED:
        interaction.answered_at = interaction.answered_at or at
        if interaction.call_state < CallState.ENDED:
            interaction.status = CallStatus.ANSWERED
    if state == CallState.ENDED and interaction.call_state < CallState.ENDED:
        interaction.ended_at = at
        interaction.status = event.call_status or (
            CallStatus.ANSWERED if interaction.answered_at else CallStatus.MISSED
        )
        if event.duration is not None:
            interaction.duration = max(0, int(event.duration))
        elif interaction.answered_at:
            interaction.duration = max(0, int((at - interaction.answered_at).total_seconds()))
    elif state == CallState.ENDED and event.duration is not None and interaction.duration is None:
        interaction.duration = max(0, int(event.duration))
    interaction.call_state = max(interaction.call_state, state)
    if interaction.status == CallStatus.ANSWERED and interaction.direction == Direction.IN:
        interaction.handled_by = interaction.handled_by or interaction.user
        interaction.handled_at = interaction.handled_at or interaction.answered_at or at


def _place(
    interaction: Interaction, event: InboundEvent, contact: Contact | None, identity: Identity | None
) -> Destination | None:
    """Put the interaction with the person it came from: routed (decision recorded), on their work.

    Done once per interaction: when it is stored, or by the first later event of the same call that
    brings a usable number when the first one had none (a withheld or garbled caller ID).
    """
    if contact is None:
        return None
    interaction.contact, interaction.identity = contact, identity
    if event.direction != Direction.IN:
        interaction.deal = open_deal(contact)
        return None
    destination = routing_decide(
        contact=contact,
        channel=event.channel,
        queue=event.queue,
        assign=True,
        identity=(identity.kind, identity.value) if identity else None,
    )
    interaction.routing_decision = routing_decision_record(
        destination=destination,
        channel=event.channel,
        input={
            "provider": event.provider,
            "identity": [identity.kind, identity.value] if identity else None,
            "queue": event.queue.code if event.queue else None,
        },
    )
    employee = interaction.user
    away = keeps_away_from_sales(contact)
    interaction.routed_to = destination.user or (None if away else employee)
    interaction.routed_queue = destination.queue.code if destination.queue else ""
    if not away:
        _attach_to_work(interaction, contact, event, destination)
    return destination


def _merge_forward(interaction: Interaction, event: InboundEvent) -> None:
    previous = interaction.call_state
    if interaction.contact_id is None and interaction.direction == event.direction:
        # The first event had no usable number; this one may: the call joins its person now.
        contact, identity = _resolve_contact(event)
        if contact is not None:
            if event.direction == Direction.IN:  # the client's side as the PBX finally gave it
                interaction.caller = event.caller[:64] or interaction.caller
            else:
                interaction.called = event.called[:64] or interaction.called
            _place(interaction, event, contact, identity)
            _late_callback_owner(interaction)
    if interaction.kind == InteractionKind.CALL:
        _apply_call(interaction, event)
    if event.occurred_at < interaction.occurred_at and event.call_event in ("", "ringing"):
        interaction.occurred_at = event.occurred_at
    history = interaction.payload.get("_events", []) if isinstance(interaction.payload, dict) else []
    if isinstance(interaction.payload, dict):
        interaction.payload = {**interaction.payload, "_events": [*history, event.payload][-20:]}
    interaction.save()
    _after_call_change(interaction, previous_state=previous)


def _late_callback_owner(interaction: Interaction) -> None:
    """A call-back task made before we knew who called now names the person and goes to their owner."""
    task = Task.objects.filter(interaction=interaction, done_at__isnull=True).first()
    if task is None or interaction.contact is None:
        return
    crm_services.task_update(
        actor=None,
        task=task,
        contact=interaction.contact,
        lead=interaction.lead,
        deal=interaction.deal,
        assignee=interaction.routed_to or task.assignee,
        title=_("Call back %(who)s (missed call)") % {"who": interaction.contact.full_name},
    )


def _after_call_change(interaction: Interaction, *, previous_state: int) -> None:
    """A missed incoming call, once it has ended, becomes a call-back task for the right person."""
    if (
        interaction.kind != InteractionKind.CALL
        or interaction.direction != Direction.IN
        or interaction.call_state != CallState.ENDED
        or previous_state == CallState.ENDED
        or interaction.status not in (CallStatus.MISSED, CallStatus.BUSY)
    ):
        return
    assignee = interaction.routed_to or interaction.user
    minutes = RoutingSettings.load().callback_minutes
    due = (interaction.ended_at or timezone.now()) + datetime.timedelta(minutes=minutes)
    who = interaction.contact.full_name if interaction.contact else interaction.caller
    crm_services.task_create(
        actor=None,
        kind=Task.Kind.CALL_BACK,
        interaction=interaction,
        title=_("Call back %(who)s (missed call)") % {"who": who},
        assignee=assignee,
        due_at=due,
        contact=interaction.contact,
        deal=interaction.deal,
        lead=interaction.lead,
    )
    emit(CallMissed(interaction_id=interaction.pk))


@transaction.atomic
def interaction_mark_handled(*, actor: User, interaction: Interaction) -> Interaction:
    if interaction.handled_at is None:
        interaction.handled_by, interaction.handled_at = actor, timezone.now()
        interaction.save(update_fields=["handled_by", "handled_at", "updated_at"])
    return interaction

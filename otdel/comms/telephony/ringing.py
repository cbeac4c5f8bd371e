"""The ringing call on screen: who a call rings for is told at once (``call_signal``), and the card
their open tabs show is built here (``ringing_card``), scoped like every read.

Signals go out at the door, from the same parsed events the intake log stores (the drain runs a
second or two later), and from the Asterisk listener as it ingests; docs/live.md says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.comms.models import CallState, Direction, Interaction, InteractionKind
from otdel.comms.selectors import interaction_summary
from otdel.comms.services import CALL_EVENT_STATE, InboundEvent
from otdel.comms.telephony.common import phone_or_empty
from otdel.core.exceptions import ConflictError, field_error
from otdel.core.identity import format_phone
from otdel.core.scoping import scope
from otdel.crm import services as crm_services
from otdel.crm.models import Channel, Contact, Deal, Lead, LeadSource, Stage
from otdel.crm.selectors import contact_by_identity
from otdel.live.models import LiveEvent
from otdel.live.services import live_publish, live_topic_users
from otdel.routing.selectors import live_route

logger = logging.getLogger(__name__)

LAST_INTERACTIONS = 3
OPEN_DEALS = 3


def call_topic(provider: str, call_id: str) -> str:
    return f"call:{provider}:{call_id}"


def _recipients(event: InboundEvent, topic: str) -> set[int]:
    """Whose phone rings: the extension the PBX names, everyone it rang for before, else routing's
    answer (a person, or the members of the queue it names)."""
    users = live_topic_users(topic)
    if event.extension:
        users |= set(
            User.objects.filter(extension=event.extension[:16], is_active=True).values_list("pk", flat=True)
        )
    if users or event.call_event != "ringing":
        return users
    destination = live_route(caller=event.caller, called=event.called)
    if destination.user is not None:
        return {destination.user.pk}
    if destination.queue is not None:
        return set(destination.queue.members.filter(is_active=True).values_list("pk", flat=True))
    return set()


def call_signal(event: InboundEvent) -> int:
    """Push one inbound call event (ringing, answered, ended) to the tabs of whoever it rings for;
    returns to how many people. Never raises: the call itself matters more than its card."""
    if (
        event.kind != InteractionKind.CALL
        or event.direction != Direction.IN
        or event.call_event not in CALL_EVENT_STATE
        or not event.external_id
    ):
        return 0
    topic = call_topic(event.provider, event.external_id)
    try:
        with transaction.atomic():
            users = _recipients(event, topic)
            status = event.call_status
            if event.call_event == "ended" and not status:
                # As the timeline will say once the drain has run: answered if it ever was.
                answered = LiveEvent.objects.filter(topic=topic, data__state="answered").exists()
                status = "answered" if answered else "missed"
            return live_publish(
                user_ids=users,
                kind="call",
                topic=topic,
                data={
                    "key": topic,
                    "state": event.call_event,
                    "status": status,
                    "phone": phone_or_empty(event.caller) or event.caller[:64],
                    "at": event.occurred_at.isoformat(),
                },
            )
    except Exception:
        logger.exception("could not push call %s to the screen", topic)
        return 0


def call_signal_after_commit(events: list[InboundEvent]) -> None:
    """The intake door's hook: signal the call events of a delivery once it is stored."""
    calls = [e for e in events if e.kind == InteractionKind.CALL and e.call_event in CALL_EVENT_STATE]
    if calls:
        transaction.on_commit(lambda: [call_signal(e) for e in calls])


# --- the card ---------------------------------------------------------------------------------


@dataclass
class RingingCard:
    phone: str
    state: str
    status: str = ""
    interaction: Interaction | None = None
    contact: Contact | None = None
    visible: bool = False  # may the viewer see the contact's card?
    deals: list[Deal] = field(default_factory=list)
    lead: Lead | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone) if self.phone.startswith("+") else self.phone

    @property
    def is_new(self) -> bool:
        """A number nobody knew before this call: no contact, or only the one the inbound path made
        for it (named by the number, nothing else on it yet)."""
        if self.contact is None:
            return True
        unnamed = self.contact.full_name in (self.phone, self.phone_display)
        return self.visible and unnamed and not self.history and not self.deals

    @property
    def missed(self) -> bool:
        return self.state == "ended" and self.status in ("missed", "busy", "failed")


STATE_NAMES = {CallState.RINGING: "ringing", CallState.ANSWERED: "answered", CallState.ENDED: "ended"}


def _call_interaction(key: str) -> Interaction | None:
    if not key.startswith("call:"):
        return None
    provider_and_id = key[len("call:") :]
    # The provider string holds one colon (``zadarma:main``) or none (``generic``).
    candidates = []
    parts = provider_and_id.split(":")
    for cut in (1, 2):
        if len(parts) > cut:
            candidates.append((":".join(parts[:cut]), ":".join(parts[cut:])))
    query = Q(pk__in=[])
    for provider, call_id in candidates:
        query |= Q(provider=provider, external_id=call_id)
    return Interaction.objects.filter(query, kind=InteractionKind.CALL).exclude(external_id="").first()


def ringing_card(*, user: Any, key: str, phone: str, state: str, status: str = "") -> RingingCard:
    """What the viewer's ringing card shows: the call as far as it got, and who is calling."""
    rank = {name: value for value, name in STATE_NAMES.items()}
    card = RingingCard(phone=phone_or_empty(phone) or phone[:64], state=state if state in rank else "ringing")
    card.status = status
    interaction = _call_interaction(key)
    if interaction is not None:
        card.interaction = interaction
        known = STATE_NAMES.get(CallState(interaction.call_state))
        if known and rank[known] > rank[card.state]:
            card.state = known
        if card.state == "ended" and interaction.status:
            card.status = interaction.status
    contact = None
    if interaction is not None and interaction.contact_id:
        contact = contact_by_identity(kind="phone", value=card.phone) if card.phone else None
        contact = contact or interaction.contact
        while contact is not None and contact.merged_into_id is not None:
            contact = contact.merged_into
    elif card.phone.startswith("+"):
        contact = contact_by_identity(kind="phone", value=card.phone)
    if contact is None:
        return card
    card.contact = contact
    # Whoever the call rings for sees who is calling, as the PBX's display would show them; their
    # deals and leads stay scoped as everywhere.
    card.visible = (
        user.pk in live_topic_users(key) or scope(Contact.objects.filter(pk=contact.pk), user).exists()
    )
    if not card.visible:
        return card
    card.deals = list(
        scope(Deal.objects.filter(contact=contact, stage__kind=Stage.Kind.OPEN), user)
        .select_related("stage")
        .order_by("-updated_at")[:OPEN_DEALS]
    )
    card.lead = (
        scope(Lead.objects.filter(contact=contact).exclude(status=Lead.Status.CLOSED), user)
        .order_by("-created_at")
        .first()
    )
    earlier = Interaction.objects.filter(Q(contact=contact) | Q(contact__merged_into=contact))
    if interaction is not None:
        earlier = earlier.exclude(pk=interaction.pk)
    channels = dict(Channel.choices)
    card.history = [
        {
            "obj": row,
            "summary": interaction_summary(row),
            "channel": channels.get(row.channel, row.get_kind_display()),
        }
        for row in earlier.order_by("-occurred_at", "-id")[:LAST_INTERACTIONS]
    ]
    return card


@transaction.atomic
def ringing_contact_create(
    *, actor: User, phone: str, full_name: str = "", lead: bool = False
) -> Contact | Lead:
    """The "new number" card's one click: the caller as a contact (or an open lead of theirs), owned
    by the one who clicked. The inbound path may have made the contact already (named by the
    number): then it is that contact, renamed if a name was given; an open lead is reused."""
    number = phone_or_empty(phone)
    if not number:
        raise field_error("phone", _("This is not a phone number."), "invalid_phone")
    name = full_name.strip()[:255]
    contact = contact_by_identity(kind="phone", value=number)
    if contact is None:
        try:
            with transaction.atomic():
                contact = crm_services.contact_create(
                    actor=actor,
                    full_name=name or format_phone(number),
                    identities=[("phone", number)],
                    responsible=actor,
                )
        except ConflictError:  # the inbound path made it a moment ago
            contact = contact_by_identity(kind="phone", value=number)
            if contact is None:
                raise
    changes: dict[str, Any] = {}
    if name and contact.full_name != name and contact.full_name == format_phone(number):
        changes["full_name"] = name
    if contact.responsible_id is None:  # the inbound path made it before anyone owned it
        changes["responsible"] = actor
    if changes:
        contact = crm_services.contact_update(actor=actor, contact=contact, **changes)
    if not lead:
        return contact
    existing = contact.leads.exclude(status=Lead.Status.CLOSED).order_by("-created_at").first()
    if existing is not None:
        if existing.responsible_id is None:
            existing.responsible = actor
            existing.save(update_fields=["responsible", "version", "updated_at"])
        return existing
    return crm_services.lead_create(
        actor=actor, contact=contact, source=LeadSource.CALL, channel="call", responsible=actor
    )

"""The domain event catalog and its in-process bus: every event Otdel emits, typed, delivered after commit.

Services emit an event object (``emit(DealCreated(deal_id=..., actor_id=...))``); handlers subscribe
by class (``@subscribe(DealCreated)``) and receive that object. The catalog (``CATALOG``, keyed by the
stable dotted name) is also the trigger list of automation rules and what the API accepts as
``trigger.event``. No module names an event by a string literal.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """A fact that happened and was committed. ``name`` is its stable dotted name."""

    name: ClassVar[str] = ""
    # Subject of the event, for automation (``{"type": "deal", "id": 12}``); None when there is none.
    subject_type: ClassVar[str] = ""

    @property
    def subject_id(self) -> int | None:
        return getattr(self, f"{self.subject_type}_id", None) if self.subject_type else None

    def payload(self) -> dict[str, Any]:
        return asdict(self)


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]
CATALOG: dict[str, type[DomainEvent]] = {}
_handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)


def catalog(cls: type[E]) -> type[E]:
    """Class decorator: register an event class under its dotted name (each name once)."""
    if not cls.name or (cls.name in CATALOG and CATALOG[cls.name] is not cls):
        raise ValueError(f"event name missing or taken: {cls.name!r}")
    CATALOG[cls.name] = cls
    return cls


def subscribe(*events: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register a handler for one or more event classes: ``@subscribe(DealCreated)``."""

    def register(handler: Callable[[E], None]) -> Callable[[E], None]:
        for event in events:
            if handler not in _handlers[event]:
                _handlers[event].append(handler)
        return handler

    return register


def subscribe_all(handler: Handler) -> Handler:
    """Register a handler for every event of the catalog (automation's rule matcher)."""
    _handlers[DomainEvent].append(handler)
    return handler


_in_transaction: list[Handler] = []


def subscribe_in_transaction(handler: Handler) -> Handler:
    """Register a handler called for every event at ``emit``, inside the caller's transaction: only
    for writing the event to a durable queue (an outbox row), so it commits or rolls back with the
    change that caused it and costs the request no commit of its own. It must not act on the event."""
    _in_transaction.append(handler)
    return handler


def emit(event: DomainEvent) -> None:
    """Deliver the event to its handlers once the current transaction commits (never before)."""
    for handler in _in_transaction:
        handler(event)  # an outbox write that fails must fail the change: nothing is lost

    def deliver() -> None:
        for handler in [*_handlers.get(type(event), []), *_handlers.get(DomainEvent, [])]:
            try:
                handler(event)
            except Exception:  # a failing subscriber must not break the caller's committed work
                logger.exception("event handler %s failed for %s", handler, event.name)

    transaction.on_commit(deliver)


# --- the catalog -------------------------------------------------------------------------------
# Contacts


@catalog
@dataclass(frozen=True, kw_only=True)
class ContactCreated(DomainEvent):
    name: ClassVar[str] = "contact.created"
    subject_type: ClassVar[str] = "contact"
    contact_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class ContactMerged(DomainEvent):
    name: ClassVar[str] = "contact.merged"
    subject_type: ClassVar[str] = "target"
    source_id: int
    target_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class ContactMarkedNonTarget(DomainEvent):
    name: ClassVar[str] = "contact.marked_non_target"
    subject_type: ClassVar[str] = "contact"
    contact_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class ContactTargetRestored(DomainEvent):
    name: ClassVar[str] = "contact.target_restored"
    subject_type: ClassVar[str] = "contact"
    contact_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class NoteCreated(DomainEvent):
    name: ClassVar[str] = "note.created"
    subject_type: ClassVar[str] = "note"
    note_id: int


# Leads


@catalog
@dataclass(frozen=True, kw_only=True)
class LeadCreated(DomainEvent):
    name: ClassVar[str] = "lead.created"
    subject_type: ClassVar[str] = "lead"
    lead_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class LeadTriaged(DomainEvent):
    name: ClassVar[str] = "lead.triaged"
    subject_type: ClassVar[str] = "lead"
    lead_id: int
    verdict: str
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class LeadReturnedToTriage(DomainEvent):
    name: ClassVar[str] = "lead.returned_to_triage"
    subject_type: ClassVar[str] = "lead"
    lead_id: int


# Deals


@catalog
@dataclass(frozen=True, kw_only=True)
class DealCreated(DomainEvent):
    name: ClassVar[str] = "deal.created"
    subject_type: ClassVar[str] = "deal"
    deal_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class DealReassigned(DomainEvent):
    name: ClassVar[str] = "deal.reassigned"
    subject_type: ClassVar[str] = "deal"
    deal_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class DealStageEntered(DomainEvent):
    """A deal moved into ``to_stage`` (also emitted, more specifically, as won/lost below)."""

    name: ClassVar[str] = "deal.stage_entered"
    subject_type: ClassVar[str] = "deal"
    deal_id: int
    from_stage: int
    to_stage: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class DealWon(DomainEvent):
    name: ClassVar[str] = "deal.won"
    subject_type: ClassVar[str] = "deal"
    deal_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class DealLost(DomainEvent):
    name: ClassVar[str] = "deal.lost"
    subject_type: ClassVar[str] = "deal"
    deal_id: int
    actor_id: int | None = None


# Interactions and channels


@catalog
@dataclass(frozen=True, kw_only=True)
class InteractionReceived(DomainEvent):
    """An interaction was stored on the timeline (inbound or outbound, any channel)."""

    name: ClassVar[str] = "interaction.received"
    subject_type: ClassVar[str] = "interaction"
    interaction_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class CallMissed(DomainEvent):
    name: ClassVar[str] = "call.missed"
    subject_type: ClassVar[str] = "interaction"
    interaction_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class WebformSubmitted(DomainEvent):
    name: ClassVar[str] = "webform.submitted"
    subject_type: ClassVar[str] = "interaction"
    form_id: int
    interaction_id: int


# Tasks


@catalog
@dataclass(frozen=True, kw_only=True)
class TaskCreated(DomainEvent):
    name: ClassVar[str] = "task.created"
    subject_type: ClassVar[str] = "task"
    task_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class TaskCompleted(DomainEvent):
    name: ClassVar[str] = "task.completed"
    subject_type: ClassVar[str] = "task"
    task_id: int
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class TaskOverdue(DomainEvent):
    name: ClassVar[str] = "task.overdue"
    subject_type: ClassVar[str] = "task"
    task_id: int


# Personal data


@catalog
@dataclass(frozen=True, kw_only=True)
class ConsentTextCreated(DomainEvent):
    name: ClassVar[str] = "consent_text.created"
    subject_type: ClassVar[str] = "text"
    text_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class ConsentGiven(DomainEvent):
    name: ClassVar[str] = "consent.given"
    subject_type: ClassVar[str] = "consent"
    consent_id: int


# Documents (emitted by the documents app) and approvals (emitted by the approvals app)


@catalog
@dataclass(frozen=True, kw_only=True)
class DocumentGenerated(DomainEvent):
    name: ClassVar[str] = "document.generated"
    subject_type: ClassVar[str] = "document"
    document_id: int
    deal_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class DocumentApproved(DomainEvent):
    name: ClassVar[str] = "document.approved"
    subject_type: ClassVar[str] = "document"
    document_id: int
    deal_id: int | None = None
    kind: str = ""  # the document kind, for a rule's trigger filter


@catalog
@dataclass(frozen=True, kw_only=True)
class DocumentRejected(DomainEvent):
    name: ClassVar[str] = "document.rejected"
    subject_type: ClassVar[str] = "document"
    document_id: int
    deal_id: int | None = None
    kind: str = ""  # the document kind, for a rule's trigger filter


# SLA (emitted by automation)


@catalog
@dataclass(frozen=True, kw_only=True)
class SlaWarned(DomainEvent):
    name: ClassVar[str] = "sla.warned"
    subject_type: ClassVar[str] = "timer"
    timer_id: int


@catalog
@dataclass(frozen=True, kw_only=True)
class SlaBreached(DomainEvent):
    name: ClassVar[str] = "sla.breached"
    subject_type: ClassVar[str] = "timer"
    timer_id: int


# Personal data: withdrawal and destruction (emitted by the privacy app)


@catalog
@dataclass(frozen=True, kw_only=True)
class ConsentWithdrawn(DomainEvent):
    """A person withdrew a consent purpose: whatever that purpose covers stops on every channel."""

    name: ClassVar[str] = "consent.withdrawn"
    subject_type: ClassVar[str] = "contact"
    contact_id: int
    purpose: str
    uses: tuple[str, ...] = ()
    actor_id: int | None = None


@catalog
@dataclass(frozen=True, kw_only=True)
class ContactDestroyed(DomainEvent):
    """A person's data was destroyed; the contact row stays only as an anonymous statistic."""

    name: ClassVar[str] = "contact.destroyed"
    subject_type: ClassVar[str] = "contact"
    contact_id: int
    act_id: int

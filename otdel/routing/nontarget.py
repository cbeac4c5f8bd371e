"""The non-target policy, in one place: marking a person non-target, taking their waiting work away
from sales, the non-target verdict of triage, a merge into a non-target contact, and the undo.

The CRM rows are written by crm's services; this module decides when and what. Routing's own rule
(a non-target contact's traffic goes to the non-target destination) is step 1 of ``decide``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.accounts.permissions import may_overrule_triage
from otdel.comms.models import CallStatus, Direction, Interaction, InteractionKind
from otdel.core.context import acting_as, current_actor
from otdel.core.events import ContactMarkedNonTarget, ContactTargetRestored, emit
from otdel.core.exceptions import field_error
from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Lead, NonTargetReason, Task, Verdict
from otdel.crm.signals import contact_merged
from otdel.routing.models import BlockedIdentity
from otdel.routing.services import routing_decide, routing_decision_record


def keeps_away_from_sales(contact: Contact | None) -> bool:
    """Whether this person's traffic must never reach a salesperson (no lead, no deal, no owner)."""
    return contact is not None and contact.non_target


def about_non_target(contact_field: str = "contact") -> Q:
    """Rows about a non-target person (directly or through a contact merged into one), to keep such
    rows away from sales in lists (``qs.exclude(about_non_target())``)."""
    return Q(**{f"{contact_field}__non_target": True}) | Q(
        **{f"{contact_field}__merged_into__non_target": True}
    )


def blocked_reason(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The block reason when any of these (normalized) identities is blocked on its own, else None."""
    pairs = list(pairs)
    block = (
        BlockedIdentity.objects.filter(kind__in=[k for k, _v in pairs], value__in=[v for _k, v in pairs])
        .only("reason")
        .first()
    )
    return block.reason if block is not None else None


def contact_mark_blocked(*, contact: Contact, reason: str) -> Contact:
    """A new person who reached us from a blocked identity is non-target from the start (with the
    block's reason as written); a new contact has nothing waiting with sales to take over."""
    return crm_services.contact_set_non_target(actor=None, contact=contact, reason=reason[:32])


def non_target_reason(reason: str) -> str:
    """A triage reason as stored: a known code, or ``other: <free text>``; empty means ``other``."""
    reason = (reason or "").strip()
    if reason and reason not in NonTargetReason.values:
        reason = f"{NonTargetReason.OTHER}: {reason}"
    return reason or NonTargetReason.OTHER


@transaction.atomic
def contact_mark_non_target(
    *, actor: User | None, contact: Contact, reason: str, keep_lead: Lead | None = None
) -> Contact:
    """Mark a contact (and so all its identities) non-target; audited, reversible, nothing deleted.

    ``reason`` is a code of NonTargetReason. What waits with sales moves to the non-target
    destination at once (``non_target_take_over``); ``keep_lead`` is the lead being triaged.
    """
    if reason not in NonTargetReason.values:
        raise field_error(
            "reason",
            _("Choose a reason: %(values)s.") % {"values": ", ".join(NonTargetReason.values)},
            "invalid_reason",
        )
    crm_services.contact_set_non_target(actor=actor, contact=contact, reason=reason)
    with acting_as(actor):
        non_target_take_over(contact=contact, keep_lead=keep_lead)
    emit(ContactMarkedNonTarget(contact_id=contact.pk, actor_id=getattr(actor, "pk", None)))
    return contact


def lead_mark_non_target(*, actor: User | None, lead: Lead, reason: str) -> Lead:
    """The non-target verdict of triage: the lead is closed and its contact marked non-target."""
    stored = non_target_reason(reason)
    contact_mark_non_target(actor=actor, contact=lead.contact, reason=stored.split(":")[0], keep_lead=lead)
    return crm_services.lead_set_verdict(actor=actor, lead=lead, verdict=Verdict.NON_TARGET, reason=stored)


def non_target_take_over(*, contact: Contact, keep_lead: Lead | None = None) -> int:
    """Take a contact that is now non-target away from sales: what waits for an answer moves too.

    Called in the transaction that marks the contact (triage, the contact's button, a merge into a
    non-target contact). Inbound interactions nobody has answered are routed again, as the person's
    new traffic would be (reason ``non_target``, a decision recorded on each), the open call-back
    tasks of missed calls follow them, and the contact's other leads still waiting for triage are
    closed as non-target with the contact's reason (``keep_lead``, the one being triaged, is left to
    the caller). Answered traffic keeps its history. Returns how many interactions moved.
    """
    if not contact.non_target:
        return 0
    actor = current_actor()
    waiting = (
        Interaction.objects.filter(contact=contact, direction=Direction.IN, handled_at__isnull=True)
        .exclude(kind=InteractionKind.CALL, status=CallStatus.ANSWERED)
        .order_by("occurred_at", "id")
    )
    moved = 0
    for interaction in waiting:
        destination = routing_decide(contact=contact, channel=interaction.channel, assign=True)
        decision = routing_decision_record(
            destination=destination,
            channel=interaction.channel,
            input={"interaction": interaction.pk, "rerouted": "non_target"},
        )
        Interaction.objects.filter(pk=interaction.pk).update(
            routed_to=destination.user,
            routed_queue=destination.queue.code if destination.queue else "",
            routing_decision=decision,
            updated_at=timezone.now(),
        )
        if destination.user is not None:
            crm_services.task_reassign(
                tasks=Task.objects.filter(interaction=interaction), assignee=destination.user
            )
        moved += 1
    untriaged = Lead.objects.filter(contact=contact, verdict="").exclude(status=Lead.Status.CLOSED)
    if keep_lead is not None:
        untriaged = untriaged.exclude(pk=keep_lead.pk)
    for lead in untriaged.order_by("id"):
        crm_services.lead_set_verdict(
            actor=actor,
            lead=lead,
            verdict=Verdict.NON_TARGET,
            reason=contact.non_target_reason or NonTargetReason.OTHER,
            announce=False,
        )
    return moved


@transaction.atomic
def contact_restore_target(*, actor: User | None, contact: Contact) -> Contact:
    """Undo "non-target": the person's calls and messages reach sales again. Audited, nothing deleted.

    The contact's leads closed with the non-target verdict go back to triage as new ones (each
    reset is a save under the actor, so the change log shows who returned it). Only the head of
    sales, the office manager and administrators may overrule a triage verdict.
    """
    if not may_overrule_triage(actor):
        raise PermissionDenied(
            _("Only the head of sales, the office manager or an administrator can do this.")
        )
    if not contact.non_target:
        return contact
    contact = crm_services.contact_clear_non_target(actor=actor, contact=contact)
    for lead in Lead.objects.filter(contact=contact, verdict=Verdict.NON_TARGET).order_by("id"):
        crm_services.lead_return_to_triage(actor=actor, lead=lead)
    emit(ContactTargetRestored(contact_id=contact.pk))
    return contact


def _merged_into_non_target(*, target: Contact, **_kwargs: Any) -> None:
    """A person merged into a non-target contact: their waiting requests and fresh leads leave sales."""
    if keeps_away_from_sales(target):
        non_target_take_over(contact=target)


contact_merged.connect(_merged_into_non_target, dispatch_uid="routing.nontarget.merge")

"""Triage of a lead: the verdict and what it sets in motion (a deal, a non-target mark, a merge)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.core.exceptions import ConflictError, field_error
from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Lead, Pipeline, Verdict
from otdel.routing.nontarget import lead_mark_non_target


@transaction.atomic
def lead_triage(
    *,
    actor: User | None,
    lead: Lead,
    verdict: str,
    reason: str = "",
    duplicate_of: Contact | None = None,
    pipeline: Pipeline | None = None,
    responsible: User | None = None,
    title: str = "",
    amount: Any = None,
) -> Lead:
    """Record the verdict on a lead. ``qualified`` opens a deal; ``duplicate`` merges the contact;
    ``non_target`` closes it and marks the contact (``routing.nontarget``)."""
    if verdict not in Verdict.values:
        raise field_error("verdict", _("Choose qualified, non-target or duplicate."), "invalid_verdict")
    if lead.verdict:
        raise ConflictError(
            _("This lead has already been triaged as “%(verdict)s”.")
            % {"verdict": lead.get_verdict_display()},
            code="already_triaged",
        )
    reason = (reason or "").strip()
    if verdict == Verdict.NON_TARGET:
        return lead_mark_non_target(actor=actor, lead=lead, reason=reason)
    if verdict == Verdict.QUALIFIED:
        owner = responsible or lead.responsible or lead.contact.responsible
        if owner is None and actor is not None and actor.is_sales:
            owner = actor
        deal = crm_services.deal_create(
            actor=actor,
            title=title or _("Deal with %(name)s") % {"name": lead.contact.full_name},
            pipeline=pipeline,
            contact=lead.contact,
            responsible=owner,
            amount=amount or 0,
        )
        if lead.contact.responsible_id is None and owner is not None:
            crm_services.contact_update(actor=actor, contact=lead.contact, responsible=owner)
        return crm_services.lead_set_verdict(
            actor=actor,
            lead=lead,
            verdict=verdict,
            reason=reason,
            status=Lead.Status.IN_PROGRESS,
            responsible=owner,
            deal=deal,
        )
    if duplicate_of is None:
        raise field_error("duplicate_of", _("Choose the contact this lead duplicates."), "required")
    if duplicate_of.pk != lead.contact_id:
        crm_services.contact_merge(actor=actor, source=lead.contact, target=duplicate_of)
    return crm_services.lead_set_verdict(
        actor=actor, lead=lead, verdict=verdict, reason=reason, duplicate_of=duplicate_of
    )

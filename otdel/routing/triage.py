"""Triage of a lead: the verdict and what it sets in motion (a deal, a non-target mark, a merge)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.core.exceptions import ConflictError, field_error
from otdel.crm import services as crm_services
from otdel.crm.models import Company, Contact, Lead, Pipeline, Verdict
from otdel.routing.nontarget import lead_mark_non_target

# Fields of a web form (or an API lead) that carry the company and the budget.
COMPANY_FIELDS = ("company", "company_name", "organization", "organisation", "org")
AMOUNT_FIELDS = ("amount", "budget", "sum", "price")


def _amount(value: Any) -> Decimal | None:
    text = re.sub(
        r"(₽|руб\.?|р\.?)$", "", str(value or "").replace(" ", "").replace("\u00a0", "").replace(",", ".")
    )
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def lead_deal_defaults(*, actor: User | None, lead: Lead) -> dict[str, Any]:
    """What a deal opened from ``lead`` starts with: a title naming the form (or channel) and the
    company or person, the company (the contact's, or the one the form named, found or created and
    linked to the contact) and the amount the form gave."""
    from otdel.comms.models import Interaction

    first = Interaction.objects.filter(lead=lead).order_by("occurred_at", "id").first()
    fields = (first.payload.get("fields") if first is not None else None) or {}
    fields = {str(k).lower(): v for k, v in fields.items()} if isinstance(fields, dict) else {}
    contact = lead.contact
    company = contact.company
    named = next((str(fields[k]).strip() for k in COMPANY_FIELDS if str(fields.get(k) or "").strip()), "")
    if company is None and named:
        company = Company.objects.filter(name__iexact=named[:255]).first() or crm_services.company_create(
            actor=actor, name=named[:255]
        )
        crm_services.contact_update(actor=actor, contact=contact, company=company)
    amount = next((a for a in (_amount(fields.get(k)) for k in AMOUNT_FIELDS) if a is not None), None)
    who = company.name if company is not None else contact.full_name
    source = (
        first.subject if first is not None and first.kind == "form" else ""
    ) or lead.get_source_display()
    return {"title": f"{source}: {who}"[:255], "company": company, "amount": amount}


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
        carried = lead_deal_defaults(actor=actor, lead=lead)
        deal = crm_services.deal_create(
            actor=actor,
            title=title or carried["title"],
            pipeline=pipeline,
            contact=lead.contact,
            company=carried["company"],
            responsible=owner,
            amount=amount or carried["amount"] or 0,
        )
        if lead.contact.responsible_id is None and owner is not None:
            crm_services.contact_update(actor=actor, contact=lead.contact, responsible=owner)
        # The lead's messages (the form, the first e-mail or call) open the deal's timeline.
        lead.interactions.filter(deal__isnull=True).update(deal=deal)
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

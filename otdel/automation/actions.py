"""Actions of rules that reach outside automation: an e-mail to the client (comms), a document
(documents), an approval (approvals, once installed), a webhook (queued for ``webhooks``).

Each has a ``check_*`` (at save time: unknown references -> ApiError naming the field) and a
``do_*`` (in the worker: returns a note for the run log, raises on failure, ``ActionRefused`` when
it must not be done to this record — a skip with the reason in the log, not a failure).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from otdel.automation.errors import AutomationErrorCode as Code
from otdel.core.exceptions import ApiError
from otdel.crm.models import Contact, Deal, Lead, Task


class ActionRefused(Exception):
    """The action must not be done to this record (no consent, no address): logged as skipped."""


# --- e-mail ---------------------------------------------------------------------------------------

# ``{{ deal.title }}``: the variables an e-mail template may use (nothing else is reachable).
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_]+(?:\.[A-Za-z_]+)?)\s*\}\}")
VARIABLES = (
    "contact.full_name",
    "deal.title",
    "deal.amount",
    "deal.stage",
    "company.name",
    "lead.source",
    "lead.channel",
    "responsible.full_name",
    "responsible.email",
    "responsible.phone",
)


def _check_template(text: str, field: str) -> None:
    for name in VARIABLE.findall(text):
        if name not in VARIABLES:
            raise ApiError(
                {
                    field: [
                        _("Unknown variable “%(name)s”; use one of: %(known)s.")
                        % {"name": name, "known": ", ".join(VARIABLES)}
                    ]
                },
                Code.UNKNOWN_VARIABLE,
            )


def check_send_email(action: dict[str, Any], field: str) -> None:
    from otdel.privacy.models import ConsentPurpose

    for key in ("subject", "body"):
        text = str(action.get(key) or "")
        if not text.strip():
            raise ApiError({f"{field}.{key}": [_("This field is required.")]}, Code.INVALID)
        _check_template(text, f"{field}.{key}")
    purpose = action.get("purpose")
    if purpose not in (None, "") and not ConsentPurpose.objects.filter(code=str(purpose)).exists():
        raise ApiError(
            {f"{field}.purpose": [_("There is no consent purpose “%(code)s”.") % {"code": purpose}]},
            Code.UNKNOWN_PURPOSE,
        )


def _people(record: Any) -> tuple[Contact | None, Deal | None, Lead | None]:
    if isinstance(record, Deal):
        return record.contact, record, Lead.objects.filter(deal=record).order_by("id").first()
    if isinstance(record, Lead):
        return record.contact, record.deal, record
    if isinstance(record, Task):
        return record.contact, record.deal, record.lead
    if isinstance(record, Contact):
        return record, None, None
    return None, None, None


def template_context(record: Any, responsible: Any) -> dict[str, str]:
    contact, deal, lead = _people(record)
    company = (deal.company if deal else None) or (contact.company if contact else None)
    return {
        "contact.full_name": contact.full_name if contact else "",
        "deal.title": deal.title if deal else "",
        "deal.amount": formats.number_format(deal.amount, 2, force_grouping=True) if deal else "",
        "deal.stage": deal.stage.name if deal else "",
        "company.name": company.name if company else "",
        "lead.source": lead.get_source_display() if lead else "",
        "lead.channel": lead.get_channel_display() if lead else "",
        "responsible.full_name": responsible.get_full_name() if responsible else "",
        "responsible.email": (responsible.email or "") if responsible else "",
        "responsible.phone": (responsible.phone or "") if responsible else "",
    }


def render(text: str, context: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: context.get(m.group(1), ""), text)


def do_send_email(action: dict[str, Any], *, record: Any, responsible: Any) -> str:
    """An e-mail to the record's contact, from the responsible (their name on the mailbox of the
    client's thread), recorded on the timeline; refused when the contact has not given (or has
    withdrawn) the consent purpose the message needs, or has no e-mail address."""
    from otdel.comms.email.send import email_send
    from otdel.privacy.models import ProcessingUse
    from otdel.privacy.selectors import consent_allows
    from otdel.privacy.services import processing_allowed

    contact, _deal, _lead = _people(record)
    if contact is None:
        raise ActionRefused(_("there is no contact to write to"))
    purpose = str(action.get("purpose") or "")
    # A message that needs a consent is marketing: also whatever purpose covers marketing e-mail
    # must be in force (privacy's register of uses), as for every sender of marketing.
    if purpose and not (
        consent_allows(contact, purpose)
        and processing_allowed(contact=contact, use=ProcessingUse.MARKETING_EMAIL)
    ):
        raise ActionRefused(
            _("e-mail not sent: the contact has not given or has withdrawn the consent “%(code)s”")
            % {"code": purpose}
        )
    if not contact.identities.filter(kind="email").exists():
        raise ActionRefused(_("e-mail not sent: the contact has no e-mail address"))
    context = template_context(record, responsible)
    try:
        interaction = email_send(
            actor=responsible,
            contact=contact,
            subject=render(str(action["subject"]), context),
            body=render(str(action["body"]), context),
        )
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from exc
    return _("e-mail sent to %(to)s") % {"to": interaction.identity.value if interaction.identity else ""}


# --- documents and approvals ---------------------------------------------------------------------


def check_generate_document(action: dict[str, Any], field: str) -> None:
    from otdel.documents.models import DocumentTemplate

    pk = _int(action.get("template"))
    if pk is None or not DocumentTemplate.objects.filter(pk=pk, is_active=True).exists():
        raise ApiError(
            {
                f"{field}.template": [
                    _("There is no active document template with the id %(id)s.")
                    % {"id": action.get("template")}
                ]
            },
            Code.UNKNOWN_TEMPLATE,
        )
    if action.get("format", "pdf") not in ("pdf", "docx"):
        raise ApiError({f"{field}.format": [_("Choose pdf or docx.")]}, Code.INVALID)


def do_generate_document(action: dict[str, Any], *, record: Any) -> str:
    from otdel.documents.models import DocumentTemplate
    from otdel.documents.services import document_create

    deal = _people(record)[1]
    if deal is None:
        raise ActionRefused(_("a document is made for a deal, and there is none"))
    template = DocumentTemplate.objects.filter(pk=_int(action.get("template")) or 0, is_active=True).first()
    if template is None:
        raise ValueError(_("the document template %(id)s no longer exists") % {"id": action.get("template")})
    document = document_create(
        actor=None, deal=deal, template=template, format=str(action.get("format") or "pdf")
    )
    return _("document #%(id)s %(number)s") % {"id": document.pk, "number": document.number}


def check_start_approval(action: dict[str, Any], field: str) -> None:
    from otdel.approvals.models import ApprovalRoute

    route = _int(action.get("route"))
    if route is None:
        raise ApiError({f"{field}.route": [_("Name the approval route (its id).")]}, Code.INVALID)
    if not ApprovalRoute.objects.filter(pk=route, is_active=True).exists():
        raise ApiError(
            {f"{field}.route": [_("There is no active approval route with the id %(id)s.") % {"id": route}]},
            Code.UNKNOWN_ROUTE,
        )


def do_start_approval(action: dict[str, Any], *, record: Any) -> str:
    """The deal's newest ready document of the route's kinds goes through the route."""
    from otdel.approvals.services import approval_start_for_deal

    deal = _people(record)[1]
    if deal is None:
        raise ActionRefused(_("only a deal's document is sent for approval"))
    try:
        approval = approval_start_for_deal(deal=deal, route_id=_int(action.get("route")) or 0)
    except ValueError as exc:
        raise ActionRefused(str(exc)) from exc
    return _("approval #%(id)s started") % {"id": approval.pk}


# --- webhooks ------------------------------------------------------------------------------------


def do_webhook(action: dict[str, Any], *, key: str, about: dict[str, Any]) -> str:
    """Queue the call: the worker delivers it after this run commits, retrying on failure."""
    from otdel.automation.models import Rule, RuleRun, WebhookDelivery

    rule_id, run_id = about.get("rule"), about.get("run")
    delivery, _created = WebhookDelivery.objects.get_or_create(
        key=key[:120],
        defaults={
            "rule": Rule.objects.filter(pk=rule_id).first() if rule_id else None,
            "run": RuleRun.objects.filter(pk=run_id).first() if run_id else None,
            "url": str(action["url"])[:2000],
            "secret": str(action["secret"])[:200],
            "body": json.dumps(about, ensure_ascii=False, sort_keys=True, default=str),
            "next_attempt_at": timezone.now(),
        },
    )
    from otdel.automation.webhooks import label

    return f"{label(delivery.pk)}: " + _("queued")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

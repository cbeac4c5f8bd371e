"""Daily jobs of the privacy app: retention proposals and reminders about subject requests."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from otdel.core.scheduler import register_periodic

DAY = 24 * 60 * 60
WITHDRAWAL_GRACE_DAYS = 30  # 152-FZ art. 9 p. 5, art. 21 p. 5: destroy within 30 days of withdrawal


def _months_ago(months: int, now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(days=round(months * 30.44))


def retention_candidates(
    now: datetime.datetime | None = None,
) -> list[tuple[Any, str, datetime.datetime | None]]:
    """(contact, reason, last activity) for everyone whose retention period has run out."""
    from otdel.crm.models import Contact
    from otdel.privacy.models import Consent, DestructionAct, PrivacySettings, PurposeRule

    now = now or timezone.now()
    conf = PrivacySettings.load()
    destroyed = DestructionAct.objects.exclude(contact=None).values("contact_id")
    people = (
        Contact.objects.filter(merged_into__isnull=True)
        .exclude(pk__in=destroyed)
        .annotate(
            last_interaction=Max("interactions__occurred_at"),
            last_lead=Max("leads__created_at"),
            last_deal=Max("deals__updated_at"),
        )
    )
    found: list[tuple[Any, str, datetime.datetime | None]] = []
    lead_limit = _months_ago(conf.lead_retention_months, now)
    client_limit = _months_ago(conf.client_retention_months, now)
    for contact in people:
        last = max(
            [
                d
                for d in (contact.updated_at, contact.last_interaction, contact.last_lead, contact.last_deal)
                if d
            ]
        )
        if contact.last_deal is None and last < lead_limit:
            found.append(
                (
                    contact,
                    _("Lead that never became a client: no contact for %(n)s months")
                    % {"n": conf.lead_retention_months},
                    last,
                )
            )
        elif contact.last_deal is not None and last < client_limit:
            found.append(
                (
                    contact,
                    _("Client: %(n)s months since the last deal") % {"n": conf.client_retention_months},
                    last,
                )
            )
    listed = {c.pk for c, _r, _l in found}
    # Everyone who withdrew every consent, has no contract with us and 30 days have passed.
    grace = now - datetime.timedelta(days=WITHDRAWAL_GRACE_DAYS)
    withdrawn = (
        Consent.objects.values("contact_id")
        .annotate(last_withdrawal=Max("withdrawn_at"))
        .filter(last_withdrawal__lt=grace)
        .exclude(contact_id__in=Consent.objects.filter(withdrawn_at__isnull=True).values("contact_id"))
    )
    for row in withdrawn:
        person = people.filter(pk=row["contact_id"], deals__isnull=True).first()
        if person is not None and person.pk not in listed:
            found.append((person, _("Consent withdrawn more than 30 days ago"), row["last_withdrawal"]))
            listed.add(person.pk)
    # Purposes with their own retention: the consent's period is over and no contract keeps the data.
    for rule in PurposeRule.objects.exclude(retention_months=None).select_related("purpose"):
        limit = _months_ago(rule.retention_months or 0, now)
        expired = Consent.objects.filter(purpose=rule.purpose, given_at__lt=limit).exclude(
            Q(contact_id__in=listed) | Q(contact__deals__isnull=False)
        )
        for consent in expired.select_related("contact"):
            if consent.contact_id in listed or consent.contact.pk in set(
                destroyed.values_list("contact_id", flat=True)
            ):
                continue
            found.append(
                (
                    consent.contact,
                    _("Retention period of “%(purpose)s” is over (%(n)s months)")
                    % {"purpose": rule.purpose.title, "n": rule.retention_months},
                    consent.given_at,
                )
            )
            listed.add(consent.contact_id)
    return found


@task()
def retention_scan() -> int:
    """Propose for destruction everyone whose retention ran out; an administrator confirms. Returns new proposals."""
    from otdel.privacy.models import DestructionProposal

    created = 0
    for contact, reason, last in retention_candidates():
        if DestructionProposal.objects.filter(
            contact=contact,
            status__in=[DestructionProposal.Status.PROPOSED, DestructionProposal.Status.DISMISSED],
        ).exists():
            continue
        DestructionProposal.objects.create(contact=contact, reason=reason[:300], last_activity_at=last)
        created += 1
    return created


@task()
def subject_request_reminders() -> int:
    """Tell the responsible about open requests due within 2 working days or overdue (once a day each)."""
    from otdel.automation.models import Notification
    from otdel.automation.services import notify
    from otdel.privacy.models import SubjectRequest
    from otdel.privacy.services import add_working_days

    today = timezone.localdate()
    soon = add_working_days(today, 2)
    sent = 0
    for request in SubjectRequest.objects.filter(
        status=SubjectRequest.Status.OPEN, due_at__lte=soon
    ).select_related("responsible"):
        overdue = request.due_at < today
        title = (
            _("Subject request #%(id)s is overdue (was due %(date)s)")
            if overdue
            else _("Subject request #%(id)s is due %(date)s")
        ) % {"id": request.pk, "date": request.due_at.strftime("%d.%m.%Y")}
        key = f"pd-request:{request.pk}:{today.isoformat()}"
        if (
            request.responsible is None
            or Notification.objects.filter(user=request.responsible, key=key).exists()
        ):
            continue
        if notify(
            user=request.responsible,
            kind="task",
            key=key,
            title=title,
            url=f"/privacy/requests/{request.pk}/",
        ):
            sent += 1
    return sent


register_periodic("privacy.retention_scan", DAY, retention_scan)
register_periodic("privacy.subject_request_reminders", DAY, subject_request_reminders)

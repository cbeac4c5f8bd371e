"""SLA clocks: started, met and stopped by domain events (in the worker), warned and breached by
``timers_drain`` which claims each due clock once (``FOR UPDATE SKIP LOCKED``).

First response = the first outbound interaction with the person after the lead arrived (an answered
outbound call, a sent e-mail or message) or a person's triage verdict. A reassigned lead keeps its
clock (the clock belongs to the lead, not to the person).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from otdel.accounts.models import Role, User
from otdel.automation.models import Notification, SlaPolicy, SlaTimer
from otdel.automation.worktime import add_minutes, hours_of
from otdel.core.events import (
    DealStageEntered,
    InteractionReceived,
    LeadCreated,
    LeadTriaged,
    SlaBreached,
    SlaWarned,
    TaskCompleted,
    TaskCreated,
    emit,
)
from otdel.core.exceptions import ApiError
from otdel.crm.models import Deal, Lead, Task

logger = logging.getLogger(__name__)
OPEN = (SlaTimer.State.RUNNING, SlaTimer.State.WARNED)
# The events that start or stop clocks.
SLA_EVENTS = frozenset(
    {
        LeadCreated.name,
        LeadTriaged.name,
        InteractionReceived.name,
        DealStageEntered.name,
        TaskCreated.name,
        TaskCompleted.name,
    }
)


def _applies(policy: SlaPolicy, **facts: Any) -> bool:
    for key, value in (policy.applies_to or {}).items():
        if value in (None, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        if str(facts.get(key)) not in [str(v) for v in values]:
            return False
    return True


def timer_start(
    *,
    policy: SlaPolicy,
    key: str,
    started_at: datetime.datetime,
    lead: Lead | None = None,
    deal: Deal | None = None,
    task: Task | None = None,
) -> SlaTimer | None:
    """Start one clock (once per key). On working time it runs in the working hours of the person
    responsible (their days, hours and absences, by the production calendar); with nobody
    responsible, in the company's 09:00-18:00."""
    record = deal or lead or task
    person = getattr(record, "responsible", None) or getattr(record, "assignee", None)
    hours = hours_of(person, since=timezone.localdate(started_at)) if policy.working_time else {}
    due = add_minutes(started_at, policy.minutes, working_time=policy.working_time, **hours)
    warn = None
    if 0 < policy.warn_at_percent < 100:
        warn = add_minutes(
            started_at,
            policy.minutes * policy.warn_at_percent // 100,
            working_time=policy.working_time,
            **hours,
        )
    try:
        with transaction.atomic():
            return SlaTimer.objects.create(
                policy=policy,
                key=key,
                lead=lead,
                deal=deal,
                task=task,
                started_at=started_at,
                warn_at=warn,
                due_at=due,
                check_at=warn or due,
            )
    except IntegrityError:
        return None  # started already (a redelivered event)


def _meet(timers: Any, at: datetime.datetime) -> int:
    # A breached clock keeps its state but learns when the answer finally came (the SLA report
    # measures how late it was).
    timers.filter(state=SlaTimer.State.BREACHED, met_at__isnull=True).update(
        met_at=at, updated_at=timezone.now()
    )
    return timers.filter(state__in=OPEN).update(
        state=SlaTimer.State.MET, met_at=at, check_at=None, updated_at=timezone.now()
    )


def sla_on_event(*, event: str, payload: dict[str, Any]) -> int:
    """Start or stop clocks for one event; returns how many clocks started."""
    started = 0
    if event == LeadCreated.name:
        lead = Lead.objects.filter(pk=payload.get("lead_id") or 0).first()
        if lead is None:
            return 0
        for policy in SlaPolicy.objects.filter(is_active=True, target=SlaPolicy.Target.FIRST_RESPONSE):
            if _applies(policy, channel=lead.channel, source=lead.source):
                started += (
                    timer_start(policy=policy, key=f"lead:{lead.pk}", started_at=lead.created_at, lead=lead)
                    is not None
                )
    elif event == LeadTriaged.name and payload.get("actor_id"):
        _meet(
            SlaTimer.objects.filter(
                lead_id=payload.get("lead_id") or 0, policy__target=SlaPolicy.Target.FIRST_RESPONSE
            ),
            timezone.now(),
        )
    elif event == InteractionReceived.name:
        from otdel.comms.models import CallStatus, Direction, Interaction, InteractionKind

        interaction = Interaction.objects.filter(pk=payload.get("interaction_id") or 0).first()
        if interaction is None or interaction.direction != Direction.OUT:
            return 0
        if interaction.kind == InteractionKind.CALL and interaction.status != CallStatus.ANSWERED:
            return 0
        if interaction.kind not in (InteractionKind.CALL, InteractionKind.EMAIL, InteractionKind.MESSAGE):
            return 0
        at = interaction.occurred_at or interaction.created_at
        timers = SlaTimer.objects.filter(policy__target=SlaPolicy.Target.FIRST_RESPONSE, started_at__lte=at)
        if interaction.lead_id:
            timers = timers.filter(lead_id=interaction.lead_id)
        elif interaction.contact_id:
            timers = timers.filter(lead__contact_id=interaction.contact_id)
        else:
            return 0
        _meet(timers, at)
    elif event == DealStageEntered.name:
        deal = Deal.objects.filter(pk=payload.get("deal_id") or 0).first()
        if deal is None:
            return 0
        now = timezone.now()
        _meet(SlaTimer.objects.filter(deal=deal, policy__target=SlaPolicy.Target.STAGE_TIME), now)
        for policy in SlaPolicy.objects.filter(is_active=True, target=SlaPolicy.Target.STAGE_TIME):
            if _applies(policy, stage=deal.stage_id, pipeline=deal.pipeline_id):
                key = f"deal:{deal.pk}:stage:{deal.stage_id}:{now.isoformat()}"
                started += timer_start(policy=policy, key=key[:120], started_at=now, deal=deal) is not None
    elif event == TaskCreated.name:
        task = Task.objects.select_related("assignee").filter(pk=payload.get("task_id") or 0).first()
        if task is None or task.done_at is not None:
            return 0
        for policy in SlaPolicy.objects.filter(is_active=True, target=SlaPolicy.Target.TASK_DONE):
            if _applies(policy, kind=task.kind):
                started += (
                    timer_start(policy=policy, key=f"task:{task.pk}", started_at=task.created_at, task=task)
                    is not None
                )
    elif event == TaskCompleted.name:
        task = Task.objects.filter(pk=payload.get("task_id") or 0).first()
        if task is not None:
            _meet(SlaTimer.objects.filter(task=task), task.done_at or timezone.now())
    return started


def timers_drain(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Warn and breach every clock whose moment came, each exactly once; returns how many fired."""
    fired = 0
    while fired < limit:
        with transaction.atomic():
            moment = now or timezone.now()
            timer = (
                SlaTimer.objects.select_for_update(skip_locked=True)
                .filter(check_at__lte=moment, state__in=OPEN)
                .order_by("check_at", "id")
                .first()
            )
            if timer is None:
                return fired
            _fire(timer, moment)
            fired += 1
    return fired


def sla_clock_person(key: str, person: Any) -> int:
    """Name who must act on the running clock ``key`` when it is not the record's responsible
    (``None``: the responsible again). The SLA board and report count the clock for that person."""
    return SlaTimer.objects.filter(key=key, state__in=[SlaTimer.State.RUNNING, SlaTimer.State.WARNED]).update(
        person=person, updated_at=timezone.now()
    )


def _fire(timer: SlaTimer, moment: datetime.datetime) -> None:
    from otdel.automation.rules import perform

    policy = timer.policy
    if moment >= timer.due_at:
        timer.state, timer.breached_at, timer.check_at = SlaTimer.State.BREACHED, moment, None
        actions, stage = policy.on_breach, "breach"
        event: SlaWarned | SlaBreached = SlaBreached(timer_id=timer.pk)
    else:
        timer.state, timer.check_at = SlaTimer.State.WARNED, timer.due_at
        actions, stage, event = policy.on_warn, "warn", SlaWarned(timer_id=timer.pk)
    timer.save(update_fields=["state", "breached_at", "check_at", "updated_at"])
    record = timer.deal or timer.lead or timer.task
    for n, action in enumerate(actions or []):
        try:
            with transaction.atomic():
                perform(
                    action,
                    record=record,
                    key=f"sla:{timer.pk}:{stage}:{n}",
                    working_time=policy.working_time,
                    about={
                        "sla_policy": policy.pk,
                        "timer": timer.pk,
                        "state": timer.state,
                        "due_at": timer.due_at.isoformat(),
                    },
                )
        except Exception as exc:
            logger.exception("SLA %s action %s failed on timer %s", stage, n, timer.pk)
            _tell_about_failed_action(timer, record, stage, n, exc)
    emit(event)


def _tell_about_failed_action(timer: SlaTimer, record: Any, stage: str, n: int, exc: Exception) -> None:
    """A warning or escalation that could not be carried out (its person deactivated, its queue
    deleted...) is never silent: the heads of sales, else the administrators, are told instead."""
    from otdel.automation.rules import card_url
    from otdel.automation.services import notify

    if isinstance(exc, ApiError):
        reason = "; ".join(str(m) for messages in exc.errors.values() for m in messages)
    else:
        reason = str(exc)
    people = list(User.objects.filter(role=Role.HEAD_OF_SALES, is_active=True)) or list(
        User.objects.filter(role=Role.ADMIN, is_active=True)
    )
    for person in people:
        with override(person.language or None):  # the reason stays as written; the frame is theirs
            title = (
                _("SLA “%(policy)s” breached on %(record)s, and its escalation failed: %(why)s")
                if stage == "breach"
                else _("SLA “%(policy)s” warning on %(record)s could not be sent: %(why)s")
            ) % {"policy": timer.policy.name, "record": record, "why": reason}
        notify(
            user=person,
            kind=Notification.Kind.AUTOMATION,
            key=f"sla:{timer.pk}:{stage}:{n}:failed",
            title=title,
            url=card_url(record),
        )


def sla_for(*, lead: Lead | None = None, deal: Deal | None = None) -> list[dict[str, Any]]:
    """The ``sla`` list of the lead/deal API."""
    timers = SlaTimer.objects.filter(lead=lead) if lead is not None else SlaTimer.objects.filter(deal=deal)
    return [
        {
            "policy": t.policy_id,
            "policy_name": t.policy.name,
            "due_at": t.due_at.isoformat(),
            "state": t.state,
            "met_at": t.met_at.isoformat() if t.met_at else None,
        }
        for t in timers.select_related("policy").order_by("started_at", "id")
    ]

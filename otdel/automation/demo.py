"""Demo automation on top of the core demo (``manage.py load_demo``): the two rules of issue 10's
"Done when". Deterministic and idempotent: found by name, created once.

1. SLA "Первый ответ на заявку с сайта": a lead from the web form gets a first response within 15
   working minutes, else the head of sales is told and the lead goes to the next person of the
   "sales" queue (made here from the sales managers if the demo has no such queue).
2. Rule "Счёт выставлен: позвонить через 2 рабочих дня": when a deal of "Продажи" enters "Счёт
   выставлен", the responsible gets a task to call, due in 2 working days (2 x 9 working hours).
3. The SLA's history: the demo's past web-form leads get the clocks they would have had, met or
   breached by their real first answer, so the SLA report has figures from the start.
"""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.utils import timezone

from otdel.accounts.models import Role, User
from otdel.automation.models import Rule, SlaPolicy, SlaTimer
from otdel.automation.services import rule_create, sla_policy_create
from otdel.automation.worktime import add_minutes
from otdel.crm.models import Pipeline, Stage
from otdel.routing.models import Queue, QueueMember

SLA_NAME = "Первый ответ на заявку с сайта"
RULE_NAME = "Счёт выставлен: позвонить через 2 рабочих дня"
QUEUE_CODE = "sales"
TWO_WORKING_DAYS = 2 * 9 * 60


def seed_demo() -> None:
    head = User.objects.filter(username="orlova").first()
    queue = Queue.objects.filter(code=QUEUE_CODE).first()
    if queue is None:
        queue = Queue.objects.create(code=QUEUE_CODE, name="Отдел продаж")
        for user in User.objects.filter(role=Role.SALES_MANAGER, is_active=True).order_by("username"):
            QueueMember.objects.get_or_create(queue=queue, user=user)
    if not SlaPolicy.objects.filter(name=SLA_NAME).exists():
        sla_policy_create(
            actor=head,
            name=SLA_NAME,
            target=SlaPolicy.Target.FIRST_RESPONSE,
            minutes=15,
            applies_to={"channel": "form"},
            working_time=True,
            warn_at_percent=80,
            on_warn=[{"action": "notify", "to": "responsible", "text": "Заявка с сайта ждёт ответа"}],
            on_breach=[
                {
                    "action": "notify",
                    "to": "head_of_sales",
                    "text": "Заявка с сайта осталась без ответа 15 минут",
                },
                {"action": "assign", "queue": QUEUE_CODE},
            ],
        )
    policy = SlaPolicy.objects.filter(name=SLA_NAME).first()
    if policy is not None:
        sla_history_seed(policy)
    pipeline = Pipeline.objects.filter(name="Продажи").first()
    stage = Stage.objects.filter(pipeline=pipeline, name="Счёт выставлен").first() if pipeline else None
    if stage is not None and not Rule.objects.filter(name=RULE_NAME).exists():
        rule_create(
            actor=head,
            name=RULE_NAME,
            trigger={"event": "deal.stage_entered", "stage": stage.pk},
            working_time=True,
            actions=[
                {
                    "action": "task",
                    "title": "Позвонить клиенту по выставленному счёту",
                    "due_in_minutes": TWO_WORKING_DAYS,
                    "assignee": "responsible",
                }
            ],
        )


def sla_history_seed(policy: SlaPolicy, *, limit: int = 2000) -> int:
    """Clocks of ``policy`` for past leads it applies to that have none, finished as they would have
    been: met when the first answer came before the deadline, else breached (with the late answer's
    time, or none). Leads still inside their deadline are left alone. Returns the clocks made."""
    from otdel.automation.sla import _applies
    from otdel.comms.models import CallStatus, Direction, Interaction, InteractionKind
    from otdel.crm.models import Lead

    now = timezone.now()
    leads = (
        Lead.objects.exclude(
            pk__in=SlaTimer.objects.filter(policy=policy, lead__isnull=False).values("lead_id")
        )
        .filter(created_at__lt=now)
        .order_by("-created_at", "-id")[:limit]
    )
    answers = Q(kind=InteractionKind.CALL, status=CallStatus.ANSWERED) | Q(
        kind__in=[InteractionKind.EMAIL, InteractionKind.MESSAGE]
    )
    made = []
    for lead in leads:
        if not _applies(policy, channel=lead.channel, source=lead.source):
            continue
        due = add_minutes(lead.created_at, policy.minutes, working_time=policy.working_time)
        first = (
            Interaction.objects.filter(answers, contact_id=lead.contact_id, direction=Direction.OUT)
            .filter(occurred_at__gte=lead.created_at)
            .order_by("occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        moments = [m for m in (first, lead.triaged_at if lead.triaged_by_id else None) if m is not None]
        answered: datetime.datetime | None = min(moments) if moments else None
        if answered is None and due > now:
            continue
        met = answered is not None and answered <= due
        made.append(
            SlaTimer(
                policy=policy,
                key=f"lead:{lead.pk}",
                lead=lead,
                started_at=lead.created_at,
                due_at=due,
                state=SlaTimer.State.MET if met else SlaTimer.State.BREACHED,
                met_at=answered,
                breached_at=None if met else due,
            )
        )
    SlaTimer.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)

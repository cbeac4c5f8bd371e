"""Demo automation on top of the core demo (``manage.py load_demo``): the two rules of issue 10's
"Done when". Deterministic and idempotent: found by name, created once.

1. SLA "Первый ответ на заявку с сайта": a lead from the web form gets a first response within 15
   working minutes, else the head of sales is told and the lead goes to the next person of the
   "sales" queue (made here from the sales managers if the demo has no such queue).
2. Rule "Счёт выставлен: позвонить через 2 рабочих дня": when a deal of "Продажи" enters "Счёт
   выставлен", the responsible gets a task to call, due in 2 working days (2 x 9 working hours).
"""

from __future__ import annotations

from otdel.accounts.models import Role, User
from otdel.automation.models import Rule, SlaPolicy
from otdel.automation.services import rule_create, sla_policy_create
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

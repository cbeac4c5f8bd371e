"""Subscribers: a deal leaving a stage records whether its checklist was complete (adherence)."""

from __future__ import annotations

from otdel.core.events import DealStageEntered, subscribe
from otdel.crm.models import Deal
from otdel.kb.models import StageExit
from otdel.kb.selectors import deal_checklist


@subscribe(DealStageEntered)
def record_stage_exit(event: DealStageEntered) -> None:
    deal = Deal.objects.filter(pk=event.deal_id).first()
    if deal is None:
        return
    rows = deal_checklist(deal=deal, stage_id=event.from_stage)
    if not rows:
        return
    done = sum(1 for row in rows if row.done)
    StageExit.objects.create(
        deal=deal,
        stage_id=event.from_stage,
        responsible_id=deal.responsible_id,
        items_total=len(rows),
        items_done=done,
        complete=done == len(rows),
    )

"""Report queries. Each takes the user first and reads through the permission scope."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf

from otdel.core.scoping import scope
from otdel.crm.models import Deal, Lead, Pipeline, Stage, Verdict


def _period(qs: Any, field: str, date_from: datetime.date | None, date_to: datetime.date | None) -> Any:
    if date_from:
        qs = qs.filter(**{f"{field}__date__gte": date_from})
    if date_to:
        qs = qs.filter(**{f"{field}__date__lte": date_to})
    return qs


def traffic_report(
    *, user: Any, date_from: datetime.date | None = None, date_to: datetime.date | None = None
) -> list[dict[str, Any]]:
    """Inbound leads by channel and source (UTM source when known) with the non-target share."""
    leads = _period(scope(Lead.objects.all(), user), "created_at", date_from, date_to)
    rows = (
        leads.annotate(src=Coalesce(NullIf("utm_source", Value("")), "source"))
        .values("channel", "src")
        .annotate(total=Count("id"), non_target=Count("id", filter=Q(verdict=Verdict.NON_TARGET)))
        .order_by("-total", "channel", "src")
    )
    return [
        {
            "channel": row["channel"],
            "source": row["src"],
            "total": row["total"],
            "non_target": row["non_target"],
            "non_target_share": round(row["non_target"] / row["total"], 4) if row["total"] else 0.0,
        }
        for row in rows
    ]


def funnel_report(
    *,
    user: Any,
    pipeline: Pipeline,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> list[dict[str, Any]]:
    """Deals created in the period by the stage they are in now; conversion = reached this stage or later."""
    deals = _period(scope(Deal.objects.filter(pipeline=pipeline), user), "created_at", date_from, date_to)
    per_stage = {
        row["stage_id"]: row
        for row in deals.values("stage_id").annotate(count=Count("id"), amount=Sum("amount")).order_by()
    }
    stages = list(pipeline.stages.order_by("order", "id"))
    total = sum(row["count"] for row in per_stage.values())
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = sum(per_stage.get(s.pk, {}).get("count", 0) for s in stages if s.kind == Stage.Kind.WON)
    rows = []
    for stage in stages:
        data = per_stage.get(stage.pk, {})
        if stage.kind == Stage.Kind.OPEN:
            later = open_stages[open_stages.index(stage) :]
            reached = sum(per_stage.get(s.pk, {}).get("count", 0) for s in later) + won
        else:
            reached = data.get("count", 0)
        rows.append(
            {
                "stage": stage.name,
                "stage_id": stage.pk,
                "kind": stage.kind,
                "count": data.get("count", 0),
                "amount": str((data.get("amount") or Decimal("0")).quantize(Decimal("0.01"))),
                "conversion": round(reached / total, 4) if total else 0.0,
            }
        )
    return rows

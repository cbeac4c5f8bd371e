"""The stage history: every stage a deal entered, read from the change log into ``StageVisit`` rows.

The change log (``core.ObjectChange``) records each deal save with its ``stage_id`` (the full snapshot
on create, ``[old, new]`` on update), whatever service or screen moved the deal. A receiver on new
change-log rows keeps the projection current; ``history_rebuild`` derives it again from the whole log
(after an import of old data, or when the projection is first installed).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from otdel.core.models import ObjectChange
from otdel.crm.models import Deal, Stage
from otdel.reports.models import StageVisit

BATCH = 5000


def _deal_type_id() -> int:
    return ContentType.objects.get_for_model(Deal).pk


def stage_entered(change: ObjectChange) -> int | None:
    """The stage a change-log row puts a deal in, or None when the row does not move it."""
    changes = change.changes if isinstance(change.changes, dict) else {}
    if "stage_id" not in changes:
        return None
    value = changes["stage_id"]
    if change.action == ObjectChange.Action.CREATE:
        return int(value) if value is not None else None
    if change.action == ObjectChange.Action.UPDATE and isinstance(value, list) and len(value) == 2:
        old, new = value
        return int(new) if new is not None and new != old else None
    return None


def visit_open(
    *, deal_id: int, stage_id: int, at: datetime.datetime, change_id: int | None = None
) -> StageVisit:
    """Close the deal's current visit at ``at`` and open one in ``stage_id``."""
    for visit in StageVisit.objects.filter(deal_id=deal_id, left_at__isnull=True):
        visit.left_at = at
        visit.seconds = max(0, int((at - visit.entered_at).total_seconds()))
        visit.save(update_fields=["left_at", "seconds"])
    pipeline_id = Stage.objects.values_list("pipeline_id", flat=True).get(pk=stage_id)
    return StageVisit.objects.create(
        deal_id=deal_id,
        pipeline_id=pipeline_id,
        stage_id=stage_id,
        entered_at=at,
        first=not StageVisit.objects.filter(deal_id=deal_id, stage_id=stage_id).exists(),
        change_id=change_id,
    )


@receiver(post_save, sender=ObjectChange, dispatch_uid="reports.stage_history")
def _on_change_logged(
    sender: type, instance: ObjectChange, created: bool, raw: bool = False, **kw: Any
) -> None:
    if raw or not created or instance.content_type_id != _deal_type_id():
        return
    stage_id = stage_entered(instance)
    if stage_id is None or not Stage.objects.filter(pk=stage_id).exists():
        return
    visit_open(deal_id=instance.object_id, stage_id=stage_id, at=instance.at, change_id=instance.pk)


def _visits_for(
    deal_id: int, moves: list[tuple[int, datetime.datetime, int | None]], pipelines: dict[int, int]
) -> Iterator[StageVisit]:
    seen: set[int] = set()
    for n, (stage_id, at, change_id) in enumerate(moves):
        left_at = moves[n + 1][1] if n + 1 < len(moves) else None
        yield StageVisit(
            deal_id=deal_id,
            pipeline_id=pipelines[stage_id],
            stage_id=stage_id,
            entered_at=at,
            left_at=left_at,
            seconds=max(0, int((left_at - at).total_seconds())) if left_at else None,
            first=stage_id not in seen,
            change_id=change_id,
        )
        seen.add(stage_id)


def _bulk(rows: Iterable[StageVisit]) -> int:
    batch: list[StageVisit] = []
    total = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            StageVisit.objects.bulk_create(batch)
            total, batch = total + len(batch), []
    if batch:
        StageVisit.objects.bulk_create(batch)
        total += len(batch)
    return total


@transaction.atomic
def history_rebuild() -> int:
    """Derive every deal's stage history from the change log again; returns the visits written.

    A deal without any logged stage (made by a bulk insert) gets one visit: its stage since creation.
    """
    StageVisit.objects.all().delete()
    pipelines = dict(Stage.objects.values_list("id", "pipeline_id"))
    deals = dict(Deal.objects.values_list("id", "stage_id"))
    created = dict(Deal.objects.values_list("id", "created_at"))
    log = (
        ObjectChange.objects.filter(content_type_id=_deal_type_id(), action__in=["create", "update"])
        .order_by("object_id", "at", "id")
        .only("id", "object_id", "at", "action", "changes")
    )

    def rows() -> Iterator[StageVisit]:
        current: int | None = None
        moves: list[tuple[int, datetime.datetime, int | None]] = []
        with_history: set[int] = set()
        for change in log.iterator(chunk_size=BATCH):
            if change.object_id != current:
                if current is not None and moves:
                    yield from _visits_for(current, moves, pipelines)
                current, moves = change.object_id, []
            if change.object_id not in deals:
                continue
            stage_id = stage_entered(change)
            if stage_id is None or stage_id not in pipelines:
                continue
            if moves and moves[-1][0] == stage_id:
                continue
            moves.append((stage_id, change.at, change.pk))
            with_history.add(change.object_id)
        if current is not None and moves:
            yield from _visits_for(current, moves, pipelines)
        for deal_id, stage_id in deals.items():
            if deal_id not in with_history:
                yield from _visits_for(deal_id, [(stage_id, created[deal_id], None)], pipelines)

    return _bulk(rows())

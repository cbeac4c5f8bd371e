"""The stage gate: a deal may not leave a stage while a required checklist item is undone.

``crm.services.deal_move`` calls ``stage_exit_check`` before it moves a deal, so the kanban drag,
the deal form and the API all refuse the same way: ConflictError -> 409 naming the items.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from otdel.core.exceptions import ConflictError
from otdel.kb.errors import KbErrorCode


def undone_required(*, deal: Any, stage_id: int) -> list[str]:
    """Texts of the required items of ``stage_id`` not done on the deal, in checklist order."""
    from otdel.kb.selectors import deal_checklist

    return [
        row.item.text
        for row in deal_checklist(deal=deal, stage_id=stage_id)
        if row.item.required and not row.done
    ]


def stage_exit_check(*, deal: Any, to_stage: Any) -> None:
    """Refuse (ConflictError, code ``checklist_incomplete``) to move ``deal`` forward out of its stage
    while a required item is undone.

    Moving back to an earlier stage and closing the deal as lost are not gated: nobody should be
    made to tick "contract signed" to record that the client went elsewhere.
    """
    from_stage = deal.stage
    if to_stage.pk == from_stage.pk or to_stage.kind == "lost":
        return
    if to_stage.kind == "open" and to_stage.order < from_stage.order:
        return
    missing = undone_required(deal=deal, stage_id=from_stage.pk)
    if missing:
        raise ConflictError(
            _("The deal cannot leave the stage “%(stage)s” until these required items are done: %(items)s.")
            % {"stage": from_stage.name, "items": "; ".join(missing)},
            code=KbErrorCode.CHECKLIST_INCOMPLETE,
            field="checklist",
        )

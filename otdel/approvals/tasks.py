"""Background work of approvals: appending the approval sheet to the approved PDF (WeasyPrint)."""

from __future__ import annotations

from django_tasks import task


@task()
def approval_sheet_task(approval_id: int) -> None:
    from otdel.approvals.services import approval_sheet_attach

    approval_sheet_attach(approval_id=approval_id)

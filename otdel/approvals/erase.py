"""Destruction of a person (152-FZ) in the approvals app: what people wrote about their deals.

Decision comments, the approval history's texts and department requests (title, details, the
closing comment) are free text that may quote the client; request attachments are files the client
may have sent. On destruction the texts of the person's deals become ``[уничтожено]`` and the
attachments' files are deleted once the transaction commits. The rows stay (who decided, when, the
outcome, the request's department and status), so the approval statistics stay right.
"""

from __future__ import annotations

from django.db import transaction

from otdel.approvals.models import ApprovalEvent, ApprovalTask, DepartmentRequest, RequestAttachment
from otdel.documents.storage import files_delete
from otdel.privacy import register as pd
from otdel.privacy.destruction import ERASED, ErasureContext, eraser


@eraser
def erase_approvals(ctx: ErasureContext) -> None:
    if not ctx.deal_ids:
        return
    tasks = ApprovalTask.objects.filter(stage__approval__document__deal_id__in=ctx.deal_ids).exclude(
        comment=""
    )
    ctx.count("approvals.ApprovalTask", tasks.update(comment=ERASED))
    events = ApprovalEvent.objects.filter(deal_id__in=ctx.deal_ids).exclude(text="")
    ctx.count("approvals.ApprovalEvent", events.update(text=ERASED))
    requests = DepartmentRequest.objects.filter(deal_id__in=ctx.deal_ids)
    ctx.count("approvals.DepartmentRequest", requests.update(title=ERASED, body="", comment=""))
    attachments = RequestAttachment.objects.filter(request__deal_id__in=ctx.deal_ids)
    paths = [path for path in attachments.values_list("file", flat=True) if path]
    ctx.count("approvals.RequestAttachment", attachments.update(file="", filename=ERASED))
    if paths:
        ctx.categories.add(pd.FILES)
        transaction.on_commit(lambda: files_delete(paths))

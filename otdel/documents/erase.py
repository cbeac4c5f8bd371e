"""Destruction of a person (152-FZ) in the documents app: the documents generated for their deals.

A generated contract or invoice names the client's people; the deal itself stays anonymous
(``Сделка №N``) for the statistics. On destruction the files of every version (DOCX/PDF and the
preview) are deleted from the documents storage once the transaction commits; the document row
keeps its number, kind, date and status (numbering stays gapless), its title becomes the kind and
number, and a failure message quoting the person is blanked.
"""

from __future__ import annotations

from django.db import transaction

from otdel.documents.models import Document, DocumentVersion
from otdel.documents.storage import files_delete
from otdel.privacy import register as pd
from otdel.privacy.destruction import ErasureContext, eraser


@eraser
def erase_documents(ctx: ErasureContext) -> None:
    documents = Document.objects.filter(deal_id__in=ctx.deal_ids)
    versions = DocumentVersion.objects.filter(document__in=documents)
    paths = [p for pair in versions.values_list("file", "preview") for p in pair if p]
    ctx.count("documents.DocumentVersion (files)", versions.exclude(file="").update(file="", preview=""))
    for document in documents.only("pk", "kind", "number"):
        title = f"{document.kind} №{document.number}" if document.number else document.kind
        Document.objects.filter(pk=document.pk).update(title=title[:255], error="")
    ctx.count("documents.Document", documents.count())
    if paths:
        ctx.categories.add(pd.FILES)
        transaction.on_commit(lambda: files_delete(paths))

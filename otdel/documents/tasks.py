"""Background work of the documents app: generating a document's files (never in a web request)."""

from __future__ import annotations

from django_tasks import task


@task()
def document_generate_task(document_id: int) -> None:
    """Render the DOCX, convert it to PDF with LibreOffice and store the version; failures mark the
    document ``failed`` with the reason (a retry button on the card)."""
    from otdel.documents.services import document_generate

    document_generate(document_id=document_id)

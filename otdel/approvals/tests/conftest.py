"""Fixtures of the approvals tests: a legal and a finance department, a contract route, and ready
documents with a real PDF (made by WeasyPrint, so no LibreOffice run is needed outside the
end-to-end test)."""

from __future__ import annotations

import hashlib
import io

import pytest

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import DepartmentFactory, UserFactory
from otdel.approvals import services
from otdel.documents.models import Document, DocumentStatus, DocumentTemplate, DocumentVersion
from otdel.documents.storage import file_save
from otdel.documents.tests import conftest as _documents

# The documents tests' fixtures, reused: files in a temporary storage, our company, a client's deal.
documents_files = _documents.documents_files
my_company = _documents.my_company
client_company = _documents.client_company
deal = _documents.deal
numbering = _documents.numbering


@pytest.fixture
def legal(db):
    return DepartmentFactory(name="Юридический отдел")


@pytest.fixture
def finance(db):
    return DepartmentFactory(name="Финансы")


@pytest.fixture
def legal_head(legal):
    user = UserFactory(
        username="legal_head", full_name="Соколова Анна Игоревна", role=Role.APPROVER, department=legal
    )
    legal.head = user
    legal.save()
    return user


@pytest.fixture
def lawyer(legal, legal_head):
    return UserFactory(
        username="lawyer", full_name="Новиков Павел Андреевич", role=Role.APPROVER, department=legal
    )


@pytest.fixture
def lawyer2(legal, legal_head):
    return UserFactory(
        username="lawyer2", full_name="Киселёв Олег Петрович", role=Role.APPROVER, department=legal
    )


@pytest.fixture
def cfo(finance):
    return UserFactory(
        username="cfo", full_name="Белова Марина Сергеевна", role=Role.APPROVER, department=finance
    )


@pytest.fixture
def route(admin_user, lawyer, cfo):
    return services.route_save(
        actor=admin_user,
        name="Договоры",
        document_kinds=["contract"],
        steps=[
            {"name": "Юрист", "mode": "all", "approvers": [{"user": lawyer.pk}], "deadline_hours": 8},
            {
                "name": "Финансовый директор",
                "mode": "all",
                "approvers": [{"user": cfo.pk}],
                "deadline_hours": 8,
            },
        ],
    )


def pdf_bytes(text: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=f"<html><body><h1>{text}</h1></body></html>").write_pdf())


_PDF_CACHE: dict[str, bytes] = {}


def add_version(document: Document, text: str = "Договор поставки") -> Document:
    """What the worker leaves after a generation: a new PDF version, the document ready."""
    data = _PDF_CACHE.get(text) or _PDF_CACHE.setdefault(text, pdf_bytes(text))
    version = document.current_version + 1
    DocumentVersion.objects.create(
        document=document,
        version=version,
        format="pdf",
        file=file_save("documents", f"doc-v{version}.pdf", data),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        pages=1,
        author=document.author,
    )
    document.current_version, document.status = version, DocumentStatus.READY
    document.save()
    return document


@pytest.fixture
def make_document(admin_user):
    def make(deal, *, kind: str = "contract", author=None) -> Document:
        template, _created = DocumentTemplate.objects.get_or_create(
            name=f"Шаблон {kind}", kind=kind, defaults={"file": "templates/none.docx"}
        )
        document = Document.objects.create(
            deal=deal,
            template=template,
            kind=kind,
            title="Договор поставки" if kind == "contract" else "Счёт",
            number=f"Д-{Document.objects.count() + 1}",
            date=deal.created_at.date(),
            status=DocumentStatus.GENERATING,
            author=author or deal.responsible,
        )
        return add_version(document)

    return make


@pytest.fixture
def contract(deal, make_document):
    return make_document(deal)


def pdf_text(data: bytes) -> str:
    import subprocess

    pages = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return "\f".join(" ".join(page.split()) for page in pages.split("\f"))  # table cells wrap lines


def pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)

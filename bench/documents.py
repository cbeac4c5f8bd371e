"""Documents benchmark: a 3-page contract with 30 line items to PDF, Otdel end to end vs. soffice alone.

Baseline, in the same run: ``soffice --headless --convert-to pdf`` on the very DOCX Otdel renders
(LibreOffice's default, already-warm profile). Otdel: ``POST /api/v1/deals/{id}/documents`` through
the WSGI app in-process, then the generation task run as a worker would (render in a child process,
LibreOffice with its own profile directory, PDF stored with its SHA-256, preview made) until the
document is ``ready``. The ratio Otdel / baseline is printed (target <= 1.3).

Then 50 documents are queued at once and drained by two ``manage.py db_worker --batch`` processes:
wall time, documents per minute, how many each worker made, and that none failed.

    OTDEL_DATA_DIR=bench/data .venv/bin/python bench/documents.py [--repeat 3] [--queued 50]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PYTHON, ROOT, database_label, django_setup


def setup_data():  # type: ignore[no-untyped-def]
    from otdel.accounts.models import Role, User
    from otdel.crm import services as crm
    from otdel.crm.models import Pipeline, Stage
    from otdel.documents import selectors, services
    from otdel.documents.demo import PRODUCTS, TEMPLATES_DIR
    from otdel.documents.models import DocumentTemplate, NumberingSequence, Product

    admin = User.objects.filter(username="bench-docs").first() or User.objects.create_user(
        username="bench-docs", password="bench-pass-123", role=Role.ADMIN, full_name="Бенчмарков Борис"
    )
    if not selectors.legal_entity_default():
        from otdel.documents.context import SAMPLE_MY_COMPANY

        services.my_company_set(actor=admin, **SAMPLE_MY_COMPANY)
    sequence = NumberingSequence.objects.filter(code="bench-contract").first() or services.numbering_create(
        actor=admin, code="bench-contract", pattern="БД-{YYYY}-{N:05}", reset="never"
    )
    template = DocumentTemplate.objects.filter(
        name="Bench: договор поставки"
    ).first() or services.template_create(
        actor=admin,
        data=(TEMPLATES_DIR / "dogovor_postavki.docx").read_bytes(),
        filename="dogovor_postavki.docx",
        name="Bench: договор поставки",
        kind="contract",
        numbering=sequence,
    )
    pipeline = Pipeline.objects.filter(name="Bench documents").first()
    if pipeline is None:
        pipeline = Pipeline.objects.create(name="Bench documents", order=99)
        Stage.objects.create(pipeline=pipeline, name="Новая", order=0)
    company = crm.company_create(
        actor=admin,
        name="ООО «Ромашка»",
        inn="7736050003",
        kpp="772801001",
        full_name="ООО «Ромашка»",
        signatory="Иванов И. И.",
        signatory_position="Генеральный директор",
        signatory_basis="Устава",
    )
    deal = crm.deal_create(
        actor=admin,
        title="Поставка оборудования (бенчмарк)",
        pipeline=pipeline,
        stage=pipeline.stages.first(),
        company=company,
        responsible=admin,
    )
    products = []
    for sku, name, unit, price, vat in PRODUCTS:
        product = Product.objects.filter(sku=sku).first() or services.product_create(
            actor=admin, sku=sku, name=name, unit=unit, price=price, vat_rate=vat
        )
        products.append(product)
    items = [
        {
            "product": products[n % len(products)],
            "name": f"{products[n % len(products)].name}, партия {n + 1}",
            "quantity": str(1 + n % 4),
            "discount_percent": str(n % 3),
        }
        for n in range(30)
    ]
    services.deal_items_set(actor=admin, deal=deal, items=items)
    return admin, deal, template


def soffice_baseline(docx: bytes, repeat: int) -> list[float]:
    from otdel.documents.convert import soffice_path

    soffice = soffice_path()
    assert soffice, "LibreOffice is not installed"
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "contract.docx"
        source.write_bytes(docx)
        subprocess.run(
            [soffice, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
            capture_output=True,
            check=True,
        )
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(
                [soffice, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
                capture_output=True,
                check=True,
            )
            times.append(time.perf_counter() - start)
        assert (Path(tmp) / "contract.pdf").stat().st_size > 0
    return times


def otdel_end_to_end(admin, deal, template, repeat: int) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    from django.test import Client

    from otdel.accounts.services import user_token_issue
    from otdel.documents.convert import pdf_pages
    from otdel.documents.models import Document
    from otdel.documents.services import document_file, document_generate

    client = Client(HTTP_AUTHORIZATION=f"Token {user_token_issue(user=admin)}", HTTP_HOST="127.0.0.1")
    times, pages = [], 0
    for _ in range(repeat + 1):
        start = time.perf_counter()
        response = client.post(
            f"/api/v1/deals/{deal.pk}/documents",
            {"template": template.pk, "format": "pdf"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        document = document_generate(document_id=response.json()["id"])  # what the worker does next
        elapsed = time.perf_counter() - start
        assert document is not None and document.status == "ready", document and document.error
        times.append(elapsed)
        pages = pdf_pages(document_file(document=Document.objects.get(pk=document.pk), format="pdf")[1])
    return times[1:], pages  # the first run also warms Otdel's private base profile


def queued(admin, deal, template, count: int) -> None:  # type: ignore[no-untyped-def]
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from otdel.documents import services
    from otdel.documents.models import Document

    DBTaskResult.objects.filter(status="READY").delete()  # leftovers of the end-to-end part
    with transaction.atomic():
        ids = [
            services.document_create(actor=admin, deal=deal, template=template, format="pdf").pk
            for _ in range(count)
        ]
    start = time.perf_counter()
    workers = [
        subprocess.Popen(
            [PYTHON, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--worker-id", f"bench-{n}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in (1, 2)
    ]
    for worker in workers:
        worker.wait()
    elapsed = time.perf_counter() - start
    statuses = dict.fromkeys(["ready", "failed", "generating"], 0)
    for status in Document.objects.filter(pk__in=ids).values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    by_worker: dict[str, int] = {}
    for worker_ids in (
        DBTaskResult.objects.filter(finished_at__isnull=False, task_path__endswith="document_generate_task")
        .order_by("-finished_at")[:count]
        .values_list("worker_ids", flat=True)
    ):
        for worker_id in worker_ids:
            by_worker[worker_id] = by_worker.get(worker_id, 0) + 1
    print(
        f"\n{count} documents queued at once, 2 db_workers: {elapsed:.1f} s wall, "
        f"{count / elapsed * 60:.0f} documents/min; ready {statuses['ready']}, failed {statuses['failed']}, "
        f"still generating {statuses['generating']}; per worker {by_worker}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queued", type=int, default=50)
    args = parser.parse_args()
    django_setup()
    from otdel.documents import rendering
    from otdel.documents.context import deal_context
    from otdel.documents.storage import file_read

    print(f"Documents benchmark on {database_label()}")
    admin, deal, template = setup_data()
    docx = rendering.render_docx(
        file_read(template.file),
        deal_context(
            deal=deal,
            items=list(deal.items.all()),
            legal_entity=None,
            number="БД-0",
            date=deal.created_at.date(),
        ),
    )
    baseline = soffice_baseline(docx, args.repeat)
    otdel, pages = otdel_end_to_end(admin, deal, template, args.repeat)
    base, ours = statistics.median(baseline), statistics.median(otdel)
    print(f"contract with 30 line items, {pages} pages")
    print(
        f"  soffice --convert-to pdf (same DOCX):  median {base:.2f} s  {' '.join(f'{t:.2f}' for t in baseline)}"
    )
    print(
        f"  Otdel request -> PDF stored:           median {ours:.2f} s  {' '.join(f'{t:.2f}' for t in otdel)}"
    )
    print(f"  ratio {ours / base:.2f} (target <= 1.3)")
    if args.queued:
        queued(admin, deal, template, args.queued)


if __name__ == "__main__":
    main()

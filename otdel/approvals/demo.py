"""Demo data of approvals (on top of the sales and documents demos).

``seed_demo()`` is deterministic and idempotent: a legal department headed by the demo lawyer
(Новиков), a finance department headed by the demo finance director (Белова, login ``belova``),
the contract route "lawyer, then the finance director", one contract of a demo deal sent for
approval (so the lawyer's "Awaiting my approval" is not empty) and one request to the legal
department.
"""

from __future__ import annotations

import logging

from django.db import transaction

from otdel.accounts.models import Department, Role, User
from otdel.approvals import services
from otdel.approvals.models import ApprovalRoute, DepartmentRequest
from otdel.crm.models import Deal, Stage
from otdel.documents.models import Document, DocumentStatus, DocumentTemplate

logger = logging.getLogger(__name__)

ROUTE_NAME = "Договоры: юрист, затем финансовый директор"
CFO = "belova"


def _cfo(finance: Department) -> User | None:
    """The finance director (a demo login of ``otdel/demo/sales.py``), put in the finance department."""
    user = User.objects.filter(username=CFO, role=Role.APPROVER).first()
    if user is not None and user.department_id is None:
        user.department = finance
        user.save(update_fields=["department"])
    return user


def seed_demo() -> None:
    admin = User.objects.filter(username="admin").first()
    lawyer = User.objects.filter(username="novikov").first()
    if admin is None or lawyer is None:
        return
    with transaction.atomic():
        legal, _created = Department.objects.get_or_create(
            name="Юридический отдел", defaults={"head": lawyer}
        )
        if lawyer.department_id is None:
            lawyer.department = legal
            lawyer.save(update_fields=["department"])
        finance, _created = Department.objects.get_or_create(name="Финансовая служба")
        cfo = _cfo(finance)
        if cfo is None:
            return
        if finance.head_id is None:
            finance.head = cfo
            finance.save(update_fields=["head"])
        services.desk_save(actor=admin, department=legal, sla_hours=24)
        route = ApprovalRoute.objects.filter(name=ROUTE_NAME).first()
        if route is None:
            route = services.route_save(
                actor=admin,
                name=ROUTE_NAME,
                document_kinds=["contract"],
                steps=[
                    {
                        "name": "Юрист",
                        "mode": "all",
                        "approvers": [{"user": lawyer.pk}],
                        "deadline_hours": 16,
                    },
                    {"name": "Финансовый директор", "approvers": [{"user": cfo.pk}], "deadline_hours": 8},
                ],
            )
    deal = (
        Deal.objects.filter(stage__kind=Stage.Kind.OPEN, items__isnull=False, responsible__isnull=False)
        .order_by("id")
        .first()
    )
    if deal is None:
        return
    if not DepartmentRequest.objects.exists():
        services.request_create(
            actor=deal.responsible,
            deal=deal,
            department=legal,
            title="Проверить протокол разногласий клиента",
            body="Клиент прислал свою редакцию пунктов 5 и 7 (неустойка, сроки оплаты).",
        )
    _contract_in_approval(deal, route)


def _contract_in_approval(deal: Deal, route: ApprovalRoute) -> None:
    """A contract of the deal, made now (LibreOffice), sent for approval; skipped when it cannot be made."""
    from otdel.documents import services as documents

    if Document.objects.filter(approvals__isnull=False).exists():
        return
    template = DocumentTemplate.objects.filter(kind="contract", is_active=True).first()
    if template is None:
        return
    document = Document.objects.filter(deal=deal, kind="contract", deleted_at__isnull=True).first()
    if document is None:
        document = documents.document_create(actor=deal.responsible, deal=deal, template=template)
    if document.status == DocumentStatus.GENERATING:
        document = documents.document_generate(document_id=document.pk) or document
    if document.status != DocumentStatus.READY:
        logger.warning("demo contract %s not made (%s): no approval demo", document.pk, document.error)
        return
    services.approval_start(actor=deal.responsible, document=document, route=route)

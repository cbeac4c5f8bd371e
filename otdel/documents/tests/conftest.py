"""Fixtures of the documents tests: files in a temporary storage, a deal with a client, templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from otdel.crm import services as crm_services
from otdel.documents import services
from otdel.documents.storage import documents_storage

DEMO = Path(__file__).resolve().parent.parent / "demo_templates"


@pytest.fixture(autouse=True)
def documents_files(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    documents_storage.cache_clear()
    yield tmp_path / "documents"
    documents_storage.cache_clear()


@pytest.fixture
def my_company(admin_user):
    return services.my_company_set(
        actor=admin_user,
        name="ООО «Отдел»",
        full_name="Общество с ограниченной ответственностью «Отдел»",
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
        address="117997, г. Москва, ул. Вавилова, д. 19",
        bank_name="ПАО Сбербанк",
        bik="044525225",
        account="40702810200000012345",
        corr_account="30101810400000000225",
        signatory="Петров П. П.",
        signatory_position="Генеральный директор",
        signatory_basis="Устава",
    )


@pytest.fixture
def client_company(manager):
    return crm_services.company_create(
        actor=manager,
        name="ООО «Ромашка»",
        full_name="Общество с ограниченной ответственностью «Ромашка»",
        inn="7736050003",
        kpp="772801001",
        address="117420, г. Москва, ул. Наметкина, д. 16",
        signatory="Иванов И. И.",
        signatory_position="Генеральный директор",
        signatory_basis="Устава",
        responsible=manager,
    )


@pytest.fixture
def deal(manager, pipeline, client_company):
    from otdel.crm.tests.factories import ContactFactory

    contact = ContactFactory(full_name="Иванов Иван Иванович", company=client_company, responsible=manager)
    return crm_services.deal_create(
        actor=manager,
        title="Поставка станков",
        pipeline=pipeline,
        stage=pipeline.stages.order_by("order").first(),
        contact=contact,
        company=client_company,
        responsible=manager,
        amount="0",
    )


@pytest.fixture
def numbering(admin_user, my_company):
    return services.numbering_create(
        actor=admin_user, code="invoice", pattern="СЧ-{YYYY}-{N:04}", legal_entity=my_company
    )


@pytest.fixture
def invoice_template(admin_user, numbering):
    data = (DEMO / "schet_na_oplatu.docx").read_bytes()
    return services.template_create(
        actor=admin_user,
        data=data,
        filename="schet_na_oplatu.docx",
        name="Счёт на оплату",
        kind="invoice",
        numbering=numbering,
    )


@pytest.fixture
def priced_deal(deal, manager):
    services.deal_items_set(
        actor=manager,
        deal=deal,
        items=[
            {
                "name": "Станок токарный ТВ-16",
                "quantity": "2",
                "unit": "шт",
                "price": "450000",
                "discount_percent": "5",
                "vat_rate": "20",
            },
            {
                "name": "Пусконаладочные работы",
                "quantity": "8",
                "unit": "ч",
                "price": "3500",
                "vat_rate": "20",
            },
        ],
    )
    deal.refresh_from_db()
    return deal

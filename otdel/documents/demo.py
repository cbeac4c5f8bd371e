"""Demo data of the documents app, on top of the core demo (``manage.py load_demo``).

``seed_demo()`` is deterministic and idempotent: our legal entity with its requisites, four
numbering sequences, the four Russian templates from ``demo_templates/``, a small catalog, and line
items on some open deals of the demo pipeline (their amounts then follow the items).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from otdel.accounts.models import User
from otdel.crm import services as crm_services
from otdel.crm.models import Deal, Stage
from otdel.documents import services
from otdel.documents.context import SAMPLE_MY_COMPANY
from otdel.documents.models import DealItem, DocumentTemplate, LegalEntity, NumberingSequence, Product

TEMPLATES_DIR = Path(__file__).resolve().parent / "demo_templates"

SEQUENCES = (
    ("contract", "Договоры", "Д-{YYYY}-{N:04}"),
    ("invoice", "Счета", "СЧ-{YYYY}-{N:04}"),
    ("act", "Акты", "АКТ-{YYYY}-{N:04}"),
    ("offer", "Коммерческие предложения", "КП-{YYYY}-{N:04}"),
)

TEMPLATES = (
    ("dogovor_postavki.docx", "Договор поставки", "contract", "contract"),
    ("schet_na_oplatu.docx", "Счёт на оплату", "invoice", "invoice"),
    ("akt_vypolnennyh_rabot.docx", "Акт выполненных работ", "act", "act"),
    ("kommercheskoe_predlozhenie.docx", "Коммерческое предложение", "offer", "offer"),
)

PRODUCTS = (
    ("ST-TV16", "Станок токарный ТВ-16", "шт", "485000.00", "20"),
    ("ST-FR250", "Станок фрезерный ФР-250", "шт", "1240000.00", "20"),
    ("ST-SV12", "Станок сверлильный СВ-12", "шт", "168500.00", "20"),
    ("KMP-400", "Компрессор винтовой КВ-400", "шт", "392000.00", "20"),
    ("INS-SET", "Набор режущего инструмента", "компл", "27800.00", "20"),
    ("OIL-20", "Масло индустриальное И-20А, канистра 20 л", "шт", "4350.00", "20"),
    ("SVC-PNR", "Пусконаладочные работы", "ч", "3500.00", "20"),
    ("SVC-MNT", "Монтаж оборудования", "усл", "45000.00", "20"),
    ("SVC-TRN", "Обучение персонала", "ч", "2800.00", "20"),
    ("SVC-DLV", "Доставка по Москве и области", "рейс", "9500.00", "20"),
    ("SVC-TO", "Плановое техническое обслуживание", "мес", "18000.00", "20"),
    ("BOOK-01", "Руководство по эксплуатации (печатное издание)", "шт", "1200.00", "10"),
)

# (SKU, quantity, discount %) lines put on demo deals, by the deal's order among the chosen ones.
DEAL_LINES = (
    (("ST-TV16", "2", "5"), ("SVC-PNR", "16", "0"), ("SVC-DLV", "1", "0")),
    (("ST-FR250", "1", "3"), ("SVC-MNT", "1", "0"), ("SVC-TRN", "8", "0")),
    (("KMP-400", "1", "0"), ("OIL-20", "6", "0")),
    (("ST-SV12", "3", "7"), ("INS-SET", "3", "0"), ("BOOK-01", "3", "0")),
    (("SVC-TO", "12", "10"),),
    (("ST-TV16", "1", "0"), ("ST-SV12", "1", "0"), ("SVC-MNT", "2", "0"), ("SVC-DLV", "2", "0")),
)


def _kpp_for(inn: str) -> str:
    return f"{inn[:4]}01001" if len(inn) == 10 else ""


@transaction.atomic
def seed_demo() -> None:
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        return
    entity = LegalEntity.objects.filter(is_default=True).first()
    if entity is None:
        fields: dict[str, Any] = dict(SAMPLE_MY_COMPANY)
        fields["name"] = "ООО «Станкоторг»"
        fields["full_name"] = "Общество с ограниченной ответственностью «Станкоторг»"
        fields["signatory"] = "Смирнов А. В."
        fields["email"] = "sales@stankotorg.example"
        entity = services.my_company_set(actor=admin, **fields)
    sequences = {}
    for code, name, pattern in SEQUENCES:
        sequence = NumberingSequence.objects.filter(code=code).first()
        if sequence is None:
            sequence = services.numbering_create(
                actor=admin, code=code, pattern=pattern, name=name, legal_entity=entity
            )
        sequences[code] = sequence
    for filename, name, kind, numbering in TEMPLATES:
        if not DocumentTemplate.objects.filter(name=name).exists():
            services.template_create(
                actor=admin,
                data=(TEMPLATES_DIR / filename).read_bytes(),
                filename=filename,
                name=name,
                kind=kind,
                numbering=sequences[numbering],
            )
    products = {}
    for sku, name, unit, price, vat in PRODUCTS:
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            product = services.product_create(
                actor=admin, sku=sku, name=name, unit=unit, price=Decimal(price), vat_rate=vat
            )
        products[sku] = product
    _items_on_deals(admin, products)


def _items_on_deals(admin: User, products: dict[str, Product]) -> None:
    if DealItem.objects.exists():
        return  # items are there (from an earlier run or made by people): leave them alone
    deals = list(
        Deal.objects.filter(stage__kind=Stage.Kind.OPEN, company__isnull=False, pipeline__is_default=True)
        .select_related("company", "responsible")
        .order_by("id")[: len(DEAL_LINES)]
    )
    for deal, lines in zip(deals, DEAL_LINES, strict=False):
        company = deal.company
        if company is not None and not company.kpp and _kpp_for(company.inn):
            crm_services.company_update(
                actor=admin,
                company=company,
                kpp=_kpp_for(company.inn),
                full_name=company.name,
                signatory_position="Генеральный директор",
                signatory_basis="Устава",
            )
        services.deal_items_set(
            actor=deal.responsible or admin,
            deal=deal,
            items=[
                {"product": products[sku], "quantity": quantity, "discount_percent": discount}
                for sku, quantity, discount in lines
            ],
        )

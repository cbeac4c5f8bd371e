"""What a template can use: the context built from a deal, a sample one for checking uploads, and
the reference of every variable with an example (shown on the templates page and in docs)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from otdel.documents.models import DealItem, LegalEntity
from otdel.documents.money import amount_in_words, money_ru, quantity_ru

VAT_LABELS = {"20": "20%", "10": "10%", "0": "0%", "none": "без НДС"}

REQUISITE_NAMES = [
    "name",
    "full_name",
    "inn",
    "kpp",
    "ogrn",
    "address",
    "bank_name",
    "bik",
    "account",
    "corr_account",
    "signatory",
    "signatory_position",
    "signatory_basis",
]

SAMPLE_MY_COMPANY = {
    "name": "ООО «Отдел»",
    "full_name": "Общество с ограниченной ответственностью «Отдел»",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "address": "117997, г. Москва, ул. Вавилова, д. 19",
    "bank_name": "ПАО Сбербанк",
    "bik": "044525225",
    "account": "40702810200000012345",
    "corr_account": "30101810400000000225",
    "signatory": "Петров П. П.",
    "signatory_position": "Генеральный директор",
    "signatory_basis": "Устава",
    "accountant": "Сидорова А. А.",
    "phone": "+7 495 123-45-67",
    "email": "sales@otdel.example",
}

SAMPLE_CLIENT = {
    **dict.fromkeys(REQUISITE_NAMES, ""),
    "name": "ООО «Ромашка»",
    "full_name": "Общество с ограниченной ответственностью «Ромашка»",
    "inn": "7736050003",
    "kpp": "772801001",
    "ogrn": "1027700070518",
    "address": "117420, г. Москва, ул. Наметкина, д. 16",
    "signatory": "Иванов И. И.",
    "signatory_position": "Генеральный директор",
    "signatory_basis": "Устава",
}


def _item(
    n: int,
    name: str,
    quantity: Decimal,
    unit: str,
    price: Decimal,
    discount: Decimal,
    vat_rate: str,
    total: Decimal,
    vat: Decimal,
) -> dict[str, Any]:
    return {
        "n": n,
        "name": name,
        "quantity": quantity_ru(quantity),
        "unit": unit,
        "price": money_ru(price),
        "discount_percent": quantity_ru(discount),
        "vat_rate": VAT_LABELS.get(vat_rate, vat_rate),
        "vat": money_ru(vat),
        "total": money_ru(total),
    }


def _totals(net: Decimal, vat: Decimal, gross: Decimal, count: int) -> dict[str, Any]:
    return {
        "net": money_ru(net),
        "vat": money_ru(vat),
        "gross": money_ru(gross),
        "gross_in_words": amount_in_words(gross),
        "vat_in_words": amount_in_words(vat),
        "count": count,
    }


SAMPLE_CUSTOM = {
    "text": "Текст",
    "number": "12",
    "money": "150 000,00 ₽",
    "date": "31.12.2026",
    "list": "",
    "multi_list": "",
    "checkbox": "Да",
    "user": "Смирнова Анна",
    "url": "https://example.ru",
}


def custom_context(entity: str, record: Any) -> dict[str, str]:
    """A record's custom fields by code, as people read them; every active field is there ("" unset)."""
    from otdel.crm.custom import definitions, display_value

    stored = (getattr(record, "custom", None) or {}) if record is not None else {}
    return {field.code: display_value(field, stored.get(field.code)) for field in definitions(entity)}


def sample_custom(entity: str) -> dict[str, str]:
    from otdel.crm.custom import definitions

    return {
        field.code: (field.options[0] if field.options else SAMPLE_CUSTOM.get(field.type, ""))
        for field in definitions(entity)
    }


def requisites_of(source: Any, names: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {name: str(getattr(source, name, "") or "") for name in names}


def deal_context(
    *, deal: Any, items: list[DealItem], legal_entity: LegalEntity | None, number: str, date: datetime.date
) -> dict[str, Any]:
    from otdel.documents.money import LineAmounts, sum_lines

    totals = sum_lines(LineAmounts(total=i.total, vat=i.vat, net=i.total - i.vat) for i in items)
    company = deal.company
    contact = deal.contact
    if company is not None:
        client = requisites_of(company, REQUISITE_NAMES)
    else:
        client = {**dict.fromkeys(REQUISITE_NAMES, ""), "name": contact.full_name if contact else ""}
    client["name"] = client["name"] or (contact.full_name if contact else "")
    client["full_name"] = client["full_name"] or client["name"]
    client_custom = custom_context("company", company)
    my_company = (
        requisites_of(legal_entity, LegalEntity.REQUISITES)
        if legal_entity is not None
        else dict.fromkeys(LegalEntity.REQUISITES, "")
    )
    manager = deal.responsible
    gross_amount = totals.gross if items else deal.amount
    return {
        "document": {"number": number, "date": f"{date:%d.%m.%Y}"},
        "deal": {
            "id": deal.pk,
            "title": deal.title,
            "amount": money_ru(deal.amount),
            "custom": custom_context("deal", deal),
        },
        "client": {**client, "custom": client_custom},
        "contact": {
            "full_name": contact.full_name if contact else "",
            "position": getattr(contact, "position", "") or "",
            "custom": custom_context("contact", contact),
        },
        "my_company": my_company,
        "manager": {
            "full_name": manager.get_full_name() if manager else "",
            "email": getattr(manager, "email", "") if manager else "",
        },
        "items": [
            _item(n, i.name, i.quantity, i.unit, i.price, i.discount_percent, i.vat_rate, i.total, i.vat)
            for n, i in enumerate(items, start=1)
        ],
        "totals": _totals(totals.net if items else gross_amount, totals.vat, gross_amount, len(items)),
    }


def sample_context() -> dict[str, Any]:
    """A realistic context with every variable, for checking uploads and as the reference's examples."""
    items = [
        _item(
            1,
            "Станок токарный ТВ-16",
            Decimal("2"),
            "шт",
            Decimal("450000.00"),
            Decimal("5"),
            "20",
            Decimal("855000.00"),
            Decimal("142500.00"),
        ),
        _item(
            2,
            "Пусконаладочные работы",
            Decimal("8"),
            "ч",
            Decimal("3500.00"),
            Decimal("0"),
            "20",
            Decimal("28000.00"),
            Decimal("4666.67"),
        ),
    ]
    return {
        "document": {"number": "Д-2026-0001", "date": "02.12.2026"},
        "deal": {
            "id": 1,
            "title": "Поставка станков для ООО «Ромашка»",
            "amount": money_ru(Decimal("883000.00")),
            "custom": sample_custom("deal"),
        },
        "client": {**SAMPLE_CLIENT, "custom": sample_custom("company")},
        "contact": {
            "full_name": "Иванов Иван Иванович",
            "position": "Главный инженер",
            "custom": sample_custom("contact"),
        },
        "my_company": dict(SAMPLE_MY_COMPANY),
        "manager": {"full_name": "Смирнова Анна", "email": "smirnova@otdel.example"},
        "items": items,
        "totals": _totals(Decimal("735833.33"), Decimal("147166.67"), Decimal("883000.00"), 2),
    }


DESCRIPTIONS: dict[str, Any] = {
    "document.number": _("Document number from the template's numbering"),
    "document.date": _("Document date"),
    "deal.id": _("Deal ID"),
    "deal.title": _("Deal title"),
    "deal.amount": _("Deal amount"),
    "deal.custom.*": _("The deal's custom field with this code (settings, custom fields)"),
    "client.custom.*": _("The client company's custom field with this code"),
    "contact.custom.*": _("The contact's custom field with this code"),
    "client.*": _("Client company requisites (from the company card)"),
    "contact.full_name": _("Contact's full name"),
    "contact.position": _("Contact's position"),
    "my_company.*": _("Our legal entity's requisites"),
    "manager.full_name": _("Responsible manager"),
    "manager.email": _("Responsible manager's e-mail"),
    "items[].*": _("Line items; loop over table rows with {%tr for item in items %}"),
    "totals.net": _("Total without VAT"),
    "totals.vat": _("VAT total"),
    "totals.gross": _("Total with VAT"),
    "totals.gross_in_words": _("Total with VAT in words"),
    "totals.vat_in_words": _("VAT in words"),
    "totals.count": _("Number of line items"),
}


def reference() -> list[tuple[str, str, str]]:
    """(variable, description, example) for every variable a template may use."""
    sample = sample_context()
    rows: list[tuple[str, str, str]] = []

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{path}.{key}" if path else key, sub)
        elif isinstance(value, list):
            walk(f"{path}[]", value[0] if value else {})
        else:
            head = path.split(".")[0]
            custom = ".".join(path.split(".")[:2]) + ".*" if ".custom." in path else ""
            description = (
                DESCRIPTIONS.get(path) or DESCRIPTIONS.get(custom) or DESCRIPTIONS.get(f"{head}.*", "")
            )
            rows.append((path, str(description), str(value)))

    walk("", sample)
    return rows

"""What a column means: targets per import kind, guesses from RU/EN header names, and the amoCRM and
Bitrix24 export layouts recognized by their (Russian) column names."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from otdel.crm.models import LeadSource

# target -> label shown in the mapping screen
TARGET_LABELS: dict[str, Any] = {
    "full_name": _("Full name"),
    "last_name": _("Last name"),
    "first_name": _("First name"),
    "middle_name": _("Middle name"),
    "phone": _("Phone(s)"),
    "email": _("E-mail(s)"),
    "telegram": _("Telegram"),
    "position": _("Position"),
    "company": _("Company"),
    "inn": _("INN"),
    "website": _("Website"),
    "address": _("Address"),
    "industry": _("Industry"),
    "responsible": _("Responsible"),
    "comment": _("Comment"),
    "note": _("Add to the comment (“column: value”)"),
    "title": _("Deal title"),
    "stage": _("Stage"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "expected_close": _("Expected close date"),
    "custom": _("Custom field of the deal"),
    "source": _("Source"),
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_content": "utm_content",
    "utm_term": "utm_term",
    "product_name": _("Product name"),
    "sku": _("SKU"),
    "price": _("Price (VAT included)"),
    "vat_rate": _("VAT rate"),
    "unit": _("Unit"),
    "is_active": _("Active (yes/no)"),
}

_PERSON = ["full_name", "last_name", "first_name", "middle_name", "phone", "email", "telegram", "position"]
KIND_TARGETS: dict[str, list[str]] = {
    "contacts": [*_PERSON, "company", "inn", "responsible", "comment", "note"],
    "companies": ["company", "inn", "website", "address", "industry", "responsible", "comment", "note"],
    "deals": [
        "title",
        "stage",
        "amount",
        "currency",
        "expected_close",
        "responsible",
        "comment",
        "custom",
        *_PERSON,
        "company",
        "inn",
        "note",
    ],
    "leads": [
        *_PERSON,
        "company",
        "source",
        "responsible",
        "comment",
        "note",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
    ],
    "products": ["product_name", "sku", "price", "vat_rate", "unit", "is_active"],
}
# Targets several columns may share (values are joined or collected).
MULTI_TARGETS = {"phone", "email", "note", "custom"}
VALUE_MAPPED = ("stage", "responsible", "source")

SYNONYMS: dict[str, list[str]] = {
    "full_name": [
        "фио",
        "полное имя",
        "полное имя контакта",
        "имя контакта",
        "контакт",
        "контактное лицо",
        "клиент",
        "name",
        "full name",
        "contact",
        "contact name",
        "person",
    ],
    "first_name": ["имя", "first name", "given name"],
    "last_name": ["фамилия", "last name", "surname", "family name"],
    "middle_name": ["отчество", "middle name", "patronymic"],
    "phone": [
        "телефон",
        "телефоны",
        "рабочий телефон",
        "мобильный телефон",
        "домашний телефон",
        "другой телефон",
        "рабочий прямой телефон",
        "тел",
        "мобильный",
        "phone",
        "phones",
        "mobile",
        "mobile phone",
        "work phone",
        "telephone",
        "номер телефона",
        "контактный телефон",
    ],
    "email": [
        "email",
        "e-mail",
        "e mail",
        "почта",
        "эл почта",
        "электронная почта",
        "рабочий email",
        "личный email",
        "другой email",
        "рабочий e-mail",
        "частный e-mail",
        "другой e-mail",
        "e-mail для рассылок",
        "mail",
        "work email",
    ],
    "telegram": ["telegram", "телеграм", "telegram id"],
    "position": ["должность", "position", "job title", "title (job)"],
    "company": [
        "компания",
        "название компании",
        "организация",
        "наименование",
        "компания контакта",
        "company",
        "company name",
        "organization",
        "organisation",
        "account",
    ],
    "inn": ["инн", "inn", "tax id", "taxpayer id"],
    "website": ["сайт", "web", "корпоративный сайт", "website", "url", "веб-сайт"],
    "address": ["адрес", "фактический адрес", "юридический адрес", "address"],
    "industry": ["сфера деятельности", "отрасль", "industry"],
    "responsible": [
        "ответственный",
        "менеджер",
        "ответственный менеджер",
        "ответственный за контакт",
        "owner",
        "responsible",
        "manager",
        "assigned to",
        "sales rep",
    ],
    "comment": [
        "комментарий",
        "примечание",
        "описание",
        "comment",
        "comments",
        "notes",
        "note",
        "description",
    ],
    "title": ["название сделки", "сделка", "название лида", "deal", "deal name", "deal title", "opportunity"],
    "stage": ["этап сделки", "стадия сделки", "этап", "стадия", "статус", "stage", "deal stage", "status"],
    "amount": ["бюджет", "сумма", "сумма сделки", "amount", "budget", "deal value", "value", "стоимость"],
    "currency": ["валюта", "currency"],
    "expected_close": [
        "предполагаемая дата закрытия",
        "дата закрытия",
        "планируемая дата закрытия",
        "expected close",
        "expected close date",
        "close date",
    ],
    "source": ["источник", "источник лида", "source", "lead source"],
    "utm_source": ["utm_source"],
    "utm_medium": ["utm_medium"],
    "utm_campaign": ["utm_campaign"],
    "utm_content": ["utm_content"],
    "utm_term": ["utm_term"],
}


# A catalog's columns: looked up first for the products kind ("Наименование" is the product there,
# not a company).
PRODUCT_SYNONYMS: dict[str, list[str]] = {
    "product_name": [
        "наименование",
        "название",
        "наименование товара",
        "название товара",
        "наименование товара услуги",
        "товар",
        "услуга",
        "товар/услуга",
        "номенклатура",
        "name",
        "product",
        "product name",
        "item",
        "item name",
        "title",
    ],
    "sku": [
        "артикул",
        "артикул товара",
        "код",
        "код товара",
        "sku",
        "article",
        "item code",
        "product code",
        "vendor code",
        "part number",
    ],
    "price": ["цена", "цена с ндс", "цена за единицу", "стоимость", "розничная цена", "price", "unit price"],
    "vat_rate": ["ндс", "ставка ндс", "ндс %", "vat", "vat rate", "vat %", "tax", "tax rate"],
    "unit": ["единица", "ед", "ед изм", "единица измерения", "unit", "units", "uom", "unit of measure"],
    "is_active": ["активен", "активный", "активность", "в продаже", "active", "is active", "enabled"],
}


def normalize_header(header: str) -> str:
    value = str(header or "").lower().replace("ё", "е").strip()
    value = re.sub(r"\s*\((контакт|компания|contact|company)\)\s*$", "", value)
    value = re.sub(r"[\s_:*.]+", " ", value).strip()
    return value


_LOOKUP = {normalize_header(name): target for target, names in SYNONYMS.items() for name in names}
_PRODUCT_LOOKUP = {
    normalize_header(name): target for target, names in PRODUCT_SYNONYMS.items() for name in names
}

# Layout signatures: all of ``needs`` must be among the headers, none of ``excludes``.
LAYOUTS: list[dict[str, Any]] = [
    {"code": "bitrix24_deals", "kind": "deals", "needs": {"стадия сделки"}, "any": {"направление", "сумма"}},
    {"code": "amocrm_deals", "kind": "deals", "needs": {"название сделки", "этап сделки"}, "any": {"бюджет"}},
    {"code": "bitrix24_leads", "kind": "leads", "needs": {"название лида"}, "any": {"стадия", "источник"}},
    {
        "code": "bitrix24_companies",
        "kind": "companies",
        "needs": {"название компании"},
        "any": {"тип компании", "сфера деятельности"},
    },
    {
        "code": "bitrix24_contacts",
        "kind": "contacts",
        "needs": {"имя", "фамилия"},
        "any": {"обращение", "отчество", "тип контакта", "рабочий e-mail"},
    },
    {
        "code": "amocrm_contacts",
        "kind": "contacts",
        "needs": {"полное имя"},
        "any": {"рабочий телефон", "мобильный телефон", "рабочий email", "личный email"},
    },
    {
        "code": "amocrm_companies",
        "kind": "companies",
        "needs": {"название компании"},
        "any": {"рабочий телефон", "web", "адрес"},
    },
]
LAYOUT_NAMES = {
    "bitrix24_deals": _("Bitrix24: deals"),
    "bitrix24_leads": _("Bitrix24: leads"),
    "bitrix24_companies": _("Bitrix24: companies"),
    "bitrix24_contacts": _("Bitrix24: contacts"),
    "amocrm_deals": _("amoCRM: deals"),
    "amocrm_contacts": _("amoCRM: contacts"),
    "amocrm_companies": _("amoCRM: companies"),
}
# Per layout, headers whose meaning differs from the generic guess.
LAYOUT_OVERRIDES: dict[str, dict[str, str]] = {
    "amocrm_deals": {
        "полное имя контакта": "full_name",
        "компания": "company",
        "теги": "note",
        "ответственный за контакт": "",
        "дата создания": "",
        "кем создана": "",
        "изменена": "",
        "кем изменена": "",
        "id": "custom",
        "воронка": "",
    },
    "amocrm_contacts": {
        "полное имя": "full_name",
        "имя": "",
        "фамилия": "",
        "теги": "note",
        "id": "",
        "дата создания": "",
        "кем создан": "",
        "изменен": "",
        "кем изменен": "",
    },
    "amocrm_companies": {"название компании": "company", "теги": "note", "id": "", "дата создания": ""},
    "bitrix24_deals": {
        "контакт": "full_name",
        "направление": "",
        "id": "custom",
        "дата создания": "",
        "дата изменения": "",
        "название сделки": "title",
    },
    "bitrix24_contacts": {
        "обращение": "",
        "тип контакта": "note",
        "источник": "note",
        "дополнительно об источнике": "note",
        "id": "",
        "дата создания": "",
        "дата изменения": "",
        "дата рождения": "note",
    },
    "bitrix24_companies": {"тип компании": "note", "id": "", "дата создания": "", "дата изменения": ""},
    "bitrix24_leads": {"название лида": "comment", "стадия": "", "id": "", "дата создания": ""},
}


def recognize(headers: list[str]) -> dict[str, Any] | None:
    names = {normalize_header(h) for h in headers}
    for layout in LAYOUTS:
        if layout["needs"] <= names and (not layout["any"] or layout["any"] & names):
            return layout
    return None


def guess_mapping(headers: list[str], kind: str, layout: str = "") -> dict[str, str]:
    """{column index as str: target} for the headers that are recognized; the rest stay unmapped."""
    allowed = set(KIND_TARGETS[kind])
    overrides = LAYOUT_OVERRIDES.get(layout, {})
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        name = normalize_header(header)
        if not name:
            continue
        if name in overrides:
            target = overrides[name]
            if not target:
                continue
        elif kind == "products":
            target = _PRODUCT_LOOKUP.get(name, "") or _fuzzy(name, _PRODUCT_WORDS)
        else:
            target = _LOOKUP.get(name, "")
            if not target and name.startswith("utm"):
                target = name.replace(" ", "_")
            if not target:
                target = _fuzzy(name)
        if kind == "companies" and target == "full_name":
            target = "company"
        if target == "title" and kind == "leads":
            target = "comment"
        if target not in allowed:
            target = "custom" if kind == "deals" and layout and name else ("note" if layout and name else "")
        if target and target not in MULTI_TARGETS and target in used:
            target = "note" if "note" in allowed else ""
        if target:
            mapping[str(index)] = target
            used.add(target)
    return mapping


_PRODUCT_WORDS = (
    ("артикул", "sku"),
    ("sku", "sku"),
    ("наименование", "product_name"),
    ("название", "product_name"),
    ("цена", "price"),
    ("price", "price"),
    ("ндс", "vat_rate"),
    ("vat", "vat_rate"),
    ("единиц", "unit"),
    ("ед изм", "unit"),
    ("активн", "is_active"),
)


def _fuzzy(name: str, words: tuple[tuple[str, str], ...] | None = None) -> str:
    """Headers that merely contain a known word: "Телефон моб.", "E-mail (личный)", "Сумма, руб.",
    "Цена, руб. с НДС" (``words``: the products kind's own)."""
    for word, target in words or (
        ("телефон", "phone"),
        ("phone", "phone"),
        ("e-mail", "email"),
        ("email", "email"),
        ("почта", "email"),
        ("инн", "inn"),
        ("сумма", "amount"),
        ("бюджет", "amount"),
        ("должность", "position"),
        ("ответствен", "responsible"),
        ("адрес", "address"),
    ):
        if re.search(rf"(^|\W){re.escape(word)}", name):
            return target
    return ""


SOURCE_WORDS: dict[str, list[str]] = {
    LeadSource.CALL: ["звонок", "телефон", "входящий звонок", "call", "phone"],
    LeadSource.FORM: [
        "сайт",
        "веб-сайт",
        "форма",
        "форма на сайте",
        "заявка с сайта",
        "web",
        "website",
        "form",
    ],
    LeadSource.EMAIL: ["e-mail", "email", "почта", "электронная почта"],
    LeadSource.MESSENGER: ["telegram", "whatsapp", "мессенджер", "чат", "открытая линия", "chat"],
    LeadSource.REFERRAL: ["рекомендация", "по рекомендации", "партнер", "referral"],
    LeadSource.MANUAL: ["вручную", "manual", "собственный контакт", "личный контакт"],
}


def guess_source(value: str) -> str:
    name = normalize_header(value)
    for source, words in SOURCE_WORDS.items():
        if name in words:
            return str(source)
    return str(LeadSource.IMPORT)


WON_WORDS = {"успешно реализовано", "сделка успешна", "успешно", "выиграна", "won", "closed won"}
LOST_WORDS = {"закрыто и не реализовано", "сделка провалена", "проиграна", "lost", "closed lost", "провал"}

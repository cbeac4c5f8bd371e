"""Builds the four demo DOCX templates (python-docx): договор поставки, счёт на оплату, акт, КП.

Run ``python -m otdel.documents.demo_templates.build`` after changing this file; the .docx files
next to it are committed and uploaded by ``otdel.documents.demo.seed_demo``. Each docxtpl tag is
written inside one run so Word's run splitting cannot break it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

HERE = Path(__file__).resolve().parent
FONT = "Arial"


def _document() -> Any:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_after = Pt(3)
    for section in doc.sections:
        section.left_margin = section.right_margin = Cm(2)
        section.top_margin = section.bottom_margin = Cm(1.5)
    return doc


def para(
    doc: Any,
    text: str = "",
    *,
    bold: bool = False,
    size: float | None = None,
    align: str = "left",
    italic: bool = False,
    space_after: float | None = None,
) -> Any:
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    p.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    if space_after is not None:
        p.paragraph_format.space_after = Pt(space_after)
    return p


def rich(doc: Any, parts: list[tuple[str, bool]], align: str = "justify") -> Any:
    p = doc.add_paragraph()
    for text, bold in parts:
        p.add_run(text).bold = bold
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY if align == "justify" else WD_ALIGN_PARAGRAPH.LEFT
    return p


def cell_text(cell: Any, text: str, *, bold: bool = False, align: str = "left", size: float = 9) -> None:
    cell.text = ""
    p = cell.paragraphs[0]
    run = p.add_run(text)
    run.bold = bold
    run.font.size = Pt(size)
    p.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
    }[align]
    p.paragraph_format.space_after = Pt(0)


def borders(table: Any, *, none: bool = False) -> None:
    """Ruled tables use Word's built-in "Table Grid" style; the default table style has no lines."""
    if not none:
        table.style = "Table Grid"


def widths(table: Any, cms: list[float]) -> None:
    """Column widths in the grid (what LibreOffice reads) and in each cell (what Word reads)."""
    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), cms, strict=False):
        col.set(qn("w:w"), str(int(Cm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, cms, strict=False):
            cell.width = Cm(width)


ITEM_COLUMNS = [
    ("№", "{{ item.n }}", 1.0, "center"),
    ("Наименование", "{{ item.name }}", 7.2, "left"),
    ("Кол-во", "{{ item.quantity }}", 1.6, "right"),
    ("Ед.", "{{ item.unit }}", 1.2, "center"),
    ("Цена, руб.", "{{ item.price }}", 2.5, "right"),
    ("Сумма, руб.", "{{ item.total }}", 2.8, "right"),
]


def items_table(doc: Any, *, with_vat_column: bool = False) -> None:
    columns = list(ITEM_COLUMNS)
    if with_vat_column:
        columns.insert(5, ("НДС", "{{ item.vat_rate }}", 1.3, "center"))
        columns[1] = ("Наименование", "{{ item.name }}", 5.9, "left")
    table = doc.add_table(rows=4, cols=len(columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    borders(table)
    for i, (title, _tag, _w, _a) in enumerate(columns):
        cell_text(table.rows[0].cells[i], title, bold=True, align="center")
    # docxtpl: the {%tr %} rows vanish, the middle row repeats for each item.
    cell_text(table.rows[1].cells[0], "{%tr for item in items %}")
    for i, (_title, tag, _w, align) in enumerate(columns):
        cell_text(table.rows[2].cells[i], tag, align=align)
    cell_text(table.rows[3].cells[0], "{%tr endfor %}")
    widths(table, [w for _t, _g, w, _a in columns])


def totals_block(doc: Any) -> None:
    table = doc.add_table(rows=3, cols=2)
    borders(table, none=True)
    rows = [
        ("Итого:", "{{ totals.gross }}"),
        (
            "{% if totals.vat != '0,00' %}В том числе НДС:{% else %}Без налога (НДС):{% endif %}",
            "{% if totals.vat != '0,00' %}{{ totals.vat }}{% else %}—{% endif %}",
        ),
        ("Всего к оплате:", "{{ totals.gross }}"),
    ]
    for row, (label, value) in zip(table.rows, rows, strict=True):
        cell_text(row.cells[0], label, bold=True, align="right", size=10)
        cell_text(row.cells[1], value, bold=True, align="right", size=10)
    widths(table, [13.5, 3.5])


def signatures(doc: Any, left: str, right: str) -> None:
    table = doc.add_table(rows=1, cols=2)
    borders(table, none=True)
    cell_text(table.rows[0].cells[0], left, size=10)
    cell_text(table.rows[0].cells[1], right, size=10)
    widths(table, [8.5, 8.5])


def requisites_table(doc: Any) -> None:
    table = doc.add_table(rows=2, cols=2)
    borders(table)
    cell_text(table.rows[0].cells[0], "Поставщик", bold=True, align="center", size=10)
    cell_text(table.rows[0].cells[1], "Покупатель", bold=True, align="center", size=10)
    ours = (
        "{{ my_company.full_name }}\nИНН {{ my_company.inn }}, КПП {{ my_company.kpp }}\nОГРН {{ my_company.ogrn }}\n"
        "{{ my_company.address }}\nр/с {{ my_company.account }}\nв {{ my_company.bank_name }}\n"
        "БИК {{ my_company.bik }}, к/с {{ my_company.corr_account }}\n\n"
        "{{ my_company.signatory_position }}\n_______________ / {{ my_company.signatory }} /"
    )
    theirs = (
        "{{ client.full_name }}\nИНН {{ client.inn }}{% if client.kpp %}, КПП {{ client.kpp }}{% endif %}\n"
        "{% if client.ogrn %}ОГРН {{ client.ogrn }}{% endif %}\n{{ client.address }}\n"
        "{% if client.account %}р/с {{ client.account }}{% endif %}\n"
        "{% if client.bank_name %}в {{ client.bank_name }}{% endif %}\n"
        "{% if client.bik %}БИК {{ client.bik }}, к/с {{ client.corr_account }}{% endif %}\n\n"
        "{{ client.signatory_position }}\n_______________ / {{ client.signatory }} /"
    )
    for cell, text in ((table.rows[1].cells[0], ours), (table.rows[1].cells[1], theirs)):
        cell.text = ""
        lines = text.split("\n")
        cell.paragraphs[0].add_run(lines[0]).font.size = Pt(9)
        for line in lines[1:]:
            p = cell.add_paragraph()
            p.add_run(line).font.size = Pt(9)
            p.paragraph_format.space_after = Pt(0)
    widths(table, [8.5, 8.5])


CONTRACT_SECTIONS = [
    (
        "1. Предмет договора",
        [
            "1.1. Поставщик обязуется передать в собственность Покупателя товар (далее — Товар), а Покупатель обязуется принять и оплатить Товар в порядке и на условиях настоящего Договора.",
            "1.2. Наименование, количество, цена и общая стоимость Товара указываются в Спецификации (Приложение № 1), являющейся неотъемлемой частью настоящего Договора.",
        ],
    ),
    (
        "2. Цена и порядок расчётов",
        [
            "2.1. Общая стоимость Товара по настоящему Договору составляет {{ totals.gross }} руб. ({{ totals.gross_in_words }}), {% if totals.vat != '0,00' %}в том числе НДС {{ totals.vat }} руб.{% else %}НДС не облагается{% endif %}",
            "2.2. Покупатель производит оплату путём перечисления денежных средств на расчётный счёт Поставщика в течение 5 (пяти) банковских дней с даты выставления счёта.",
            "2.3. Датой оплаты считается дата зачисления денежных средств на корреспондентский счёт банка Поставщика.",
        ],
    ),
    (
        "3. Порядок поставки",
        [
            "3.1. Поставка Товара осуществляется в течение 10 (десяти) рабочих дней с момента поступления оплаты на расчётный счёт Поставщика.",
            "3.2. Приёмка Товара по количеству и качеству производится Покупателем в момент передачи Товара и подтверждается подписанием товарной накладной (УПД).",
            "3.3. Право собственности и риск случайной гибели Товара переходят к Покупателю с момента подписания товарной накладной (УПД).",
        ],
    ),
    (
        "4. Качество Товара и гарантии",
        [
            "4.1. Качество Товара должно соответствовать требованиям технических регламентов и сертификатам изготовителя.",
            "4.2. Гарантийный срок на Товар составляет 12 (двенадцать) месяцев с даты поставки, если иной срок не установлен изготовителем.",
        ],
    ),
    (
        "5. Ответственность сторон",
        [
            "5.1. За просрочку оплаты Покупатель уплачивает Поставщику пени в размере 0,1% от неоплаченной суммы за каждый день просрочки, но не более 10% от стоимости Товара.",
            "5.2. За просрочку поставки Поставщик уплачивает Покупателю пени в размере 0,1% от стоимости непоставленного Товара за каждый день просрочки, но не более 10% от стоимости Товара.",
        ],
    ),
    (
        "6. Разрешение споров",
        [
            "6.1. Споры и разногласия разрешаются путём переговоров. Претензионный порядок обязателен, срок ответа на претензию — 10 (десять) календарных дней.",
            "6.2. При недостижении согласия спор передаётся на рассмотрение в Арбитражный суд по месту нахождения истца.",
        ],
    ),
    (
        "7. Срок действия договора",
        [
            "7.1. Договор вступает в силу с момента подписания и действует до полного исполнения Сторонами своих обязательств.",
            "7.2. Договор составлен в двух экземплярах, имеющих одинаковую юридическую силу, по одному для каждой из Сторон.",
        ],
    ),
]


def build_contract() -> Any:
    doc = _document()
    para(doc, "ДОГОВОР ПОСТАВКИ № {{ document.number }}", bold=True, size=13, align="center")
    table = doc.add_table(rows=1, cols=2)
    borders(table, none=True)
    cell_text(table.rows[0].cells[0], "г. Москва", size=10)
    cell_text(table.rows[0].cells[1], "{{ document.date }}", align="right", size=10)
    rich(
        doc,
        [
            ("{{ my_company.full_name }}", True),
            (
                ", именуемое в дальнейшем «Поставщик», в лице {{ my_company.signatory_position|lower }} {{ my_company.signatory }}, действующего на основании {{ my_company.signatory_basis }}, с одной стороны, и ",
                False,
            ),
            ("{{ client.full_name }}", True),
            (
                ", именуемое в дальнейшем «Покупатель», в лице {{ client.signatory_position|lower }} {{ client.signatory }}, действующего на основании {{ client.signatory_basis }}, с другой стороны, заключили настоящий Договор о нижеследующем:",
                False,
            ),
        ],
    )
    for title, clauses in CONTRACT_SECTIONS:
        para(doc, title, bold=True, align="center")
        for clause in clauses:
            para(doc, clause, align="justify")
    para(doc, "8. Адреса, реквизиты и подписи сторон", bold=True, align="center")
    requisites_table(doc)
    doc.add_page_break()
    para(
        doc,
        "Приложение № 1 к Договору поставки № {{ document.number }} от {{ document.date }}",
        align="right",
        italic=True,
    )
    para(doc, "СПЕЦИФИКАЦИЯ", bold=True, size=12, align="center")
    items_table(doc, with_vat_column=True)
    totals_block(doc)
    para(doc, "Итого: {{ totals.gross_in_words }}.", bold=True)
    signatures(
        doc,
        "Поставщик: _____________ / {{ my_company.signatory }} /",
        "Покупатель: _____________ / {{ client.signatory }} /",
    )
    return doc


def bank_block(doc: Any) -> None:
    """The bank block of a Russian счёт: beneficiary's bank, BIK, accounts, INN/KPP, beneficiary."""
    table = doc.add_table(rows=4, cols=4)
    borders(table)
    r = table.rows
    cell_text(r[0].cells[0], "{{ my_company.bank_name }}")
    r[0].cells[0].merge(r[0].cells[1])
    cell_text(r[0].cells[2], "БИК")
    cell_text(r[0].cells[3], "{{ my_company.bik }}")
    cell_text(r[1].cells[0], "Банк получателя", size=8)
    r[1].cells[0].merge(r[1].cells[1])
    cell_text(r[1].cells[2], "Сч. №")
    cell_text(r[1].cells[3], "{{ my_company.corr_account }}")
    cell_text(r[2].cells[0], "ИНН {{ my_company.inn }}")
    cell_text(r[2].cells[1], "КПП {{ my_company.kpp }}")
    cell_text(r[2].cells[2], "Сч. №")
    cell_text(r[2].cells[3], "{{ my_company.account }}")
    cell_text(r[3].cells[0], "{{ my_company.name }}\nПолучатель")
    r[3].cells[0].merge(r[3].cells[1])
    r[3].cells[2].merge(r[3].cells[3])
    widths(table, [5.5, 4.5, 1.8, 5.2])


def build_invoice() -> Any:
    doc = _document()
    para(
        doc,
        "Внимание! Оплата данного счёта означает согласие с условиями поставки товара. Товар отпускается по факту прихода денег на р/с Поставщика.",
        size=8,
        align="center",
    )
    bank_block(doc)
    para(doc, "")
    para(doc, "Счёт на оплату № {{ document.number }} от {{ document.date }}", bold=True, size=14)
    table = doc.add_table(rows=3, cols=2)
    borders(table, none=True)
    cell_text(table.rows[0].cells[0], "Поставщик (Исполнитель):", size=9)
    cell_text(
        table.rows[0].cells[1],
        "{{ my_company.full_name }}, ИНН {{ my_company.inn }}, КПП {{ my_company.kpp }}, {{ my_company.address }}",
        bold=True,
        size=9,
    )
    cell_text(table.rows[1].cells[0], "Покупатель (Заказчик):", size=9)
    cell_text(
        table.rows[1].cells[1],
        "{{ client.full_name }}{% if client.inn %}, ИНН {{ client.inn }}{% endif %}{% if client.kpp %}, КПП {{ client.kpp }}{% endif %}{% if client.address %}, {{ client.address }}{% endif %}",
        bold=True,
        size=9,
    )
    cell_text(table.rows[2].cells[0], "Основание:", size=9)
    cell_text(table.rows[2].cells[1], "{{ deal.title }}", size=9)
    widths(table, [4.0, 13.0])
    para(doc, "")
    items_table(doc)
    totals_block(doc)
    para(doc, "Всего наименований {{ totals.count }}, на сумму {{ totals.gross }} руб.")
    para(doc, "{{ totals.gross_in_words }}", bold=True)
    para(doc, "Счёт действителен к оплате в течение 5 банковских дней.", size=8)
    para(doc, "")
    signatures(
        doc,
        "Руководитель _____________ {{ my_company.signatory }}",
        "Бухгалтер _____________ {{ my_company.accountant }}",
    )
    return doc


def build_act() -> Any:
    doc = _document()
    para(doc, "Акт № {{ document.number }} от {{ document.date }}", bold=True, size=14)
    para(doc, "выполненных работ (оказанных услуг)", bold=True)
    table = doc.add_table(rows=3, cols=2)
    borders(table, none=True)
    cell_text(table.rows[0].cells[0], "Исполнитель:", size=9)
    cell_text(
        table.rows[0].cells[1],
        "{{ my_company.full_name }}, ИНН {{ my_company.inn }}, КПП {{ my_company.kpp }}, {{ my_company.address }}",
        bold=True,
        size=9,
    )
    cell_text(table.rows[1].cells[0], "Заказчик:", size=9)
    cell_text(
        table.rows[1].cells[1],
        "{{ client.full_name }}{% if client.inn %}, ИНН {{ client.inn }}{% endif %}{% if client.kpp %}, КПП {{ client.kpp }}{% endif %}",
        bold=True,
        size=9,
    )
    cell_text(table.rows[2].cells[0], "Основание:", size=9)
    cell_text(table.rows[2].cells[1], "{{ deal.title }}", size=9)
    widths(table, [4.0, 13.0])
    para(doc, "")
    items_table(doc)
    totals_block(doc)
    para(doc, "Всего оказано услуг {{ totals.count }}, на сумму {{ totals.gross }} руб.")
    para(doc, "{{ totals.gross_in_words }}", bold=True)
    para(
        doc,
        "Вышеперечисленные работы (услуги) выполнены полностью и в срок. Заказчик претензий по объёму, качеству и срокам оказания услуг не имеет.",
        align="justify",
    )
    para(doc, "")
    signatures(
        doc,
        "ИСПОЛНИТЕЛЬ\n{{ my_company.signatory_position }}\n_____________ / {{ my_company.signatory }} /",
        "ЗАКАЗЧИК\n{{ client.signatory_position }}\n_____________ / {{ client.signatory }} /",
    )
    return doc


def build_offer() -> Any:
    doc = _document()
    para(doc, "{{ my_company.name }}", bold=True, size=14)
    para(doc, "{{ my_company.address }} · {{ my_company.phone }} · {{ my_company.email }}", size=8)
    para(doc, "")
    para(doc, "{{ client.name }}", align="right")
    para(doc, "{{ contact.full_name }}", align="right")
    para(doc, "")
    para(
        doc,
        "Коммерческое предложение № {{ document.number }} от {{ document.date }}",
        bold=True,
        size=13,
        align="center",
    )
    para(
        doc,
        "{% if contact.full_name %}Уважаемый(ая) {{ contact.full_name }}!{% else %}Добрый день!{% endif %}",
        align="center",
    )
    para(
        doc,
        "Благодарим за интерес к нашей продукции. По вашему запросу «{{ deal.title }}» предлагаем:",
        align="justify",
    )
    items_table(doc, with_vat_column=True)
    totals_block(doc)
    para(doc, "Итого: {{ totals.gross_in_words }}.", bold=True)
    para(
        doc,
        "Условия: оплата 100% по счёту, поставка в течение 10 рабочих дней после оплаты, гарантия 12 месяцев. Предложение действительно 14 календарных дней.",
        align="justify",
    )
    para(doc, "")
    para(doc, "С уважением,\n{{ manager.full_name }}\n{{ manager.email }}")
    return doc


TEMPLATES = {
    "dogovor_postavki.docx": build_contract,
    "schet_na_oplatu.docx": build_invoice,
    "akt_vypolnennyh_rabot.docx": build_act,
    "kommercheskoe_predlozhenie.docx": build_offer,
}


def build_all(directory: Path = HERE) -> list[Path]:
    paths = []
    for name, builder in TEMPLATES.items():
        path = directory / name
        doc = builder()
        doc.core_properties.author = "Otdel"
        doc.save(str(path))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for built in build_all():
        print(built)

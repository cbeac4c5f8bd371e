"""Money of Russian invoices: VAT inside the price, rounding to kopecks per line, amounts in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from num2words import num2words

KOPECK = Decimal("0.01")
NBSP = "\u00a0"
# VAT rate codes as the API sends them -> percent (None: "без НДС").
VAT_PERCENT: dict[str, Decimal | None] = {
    "20": Decimal("20"),
    "10": Decimal("10"),
    "0": Decimal("0"),
    "none": None,
}


def to_kopecks(value: Decimal) -> Decimal:
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    total: Decimal  # gross, VAT included
    vat: Decimal
    net: Decimal


def line_amounts(
    *, quantity: Decimal, price: Decimal, discount_percent: Decimal, vat_rate: str
) -> LineAmounts:
    """One line: total = quantity × price less the discount, rounded to kopecks; VAT is taken out of
    the rounded total (total × rate / (100 + rate)) and rounded again, as invoices print it."""
    total = to_kopecks(quantity * price * (Decimal(100) - discount_percent) / Decimal(100))
    rate = VAT_PERCENT.get(vat_rate)
    vat = to_kopecks(total * rate / (Decimal(100) + rate)) if rate else Decimal("0.00")
    return LineAmounts(total=total, vat=vat, net=total - vat)


@dataclass(frozen=True)
class Totals:
    net: Decimal
    vat: Decimal
    gross: Decimal


def sum_lines(lines: Iterable[LineAmounts]) -> Totals:
    net = vat = gross = Decimal("0.00")
    for line in lines:
        net, vat, gross = net + line.net, vat + line.vat, gross + line.total
    return Totals(net=net, vat=vat, gross=gross)


def plural_ru(number: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for ``number``: 1 рубль, 2 рубля, 5 рублей, 11 рублей, 21 рубль."""
    n = abs(number) % 100
    if 11 <= n <= 14:
        return many
    n %= 10
    if n == 1:
        return one
    if 2 <= n <= 4:
        return few
    return many


def amount_in_words(amount: Decimal) -> str:
    """ "Сто двадцать три тысячи четыреста пятьдесят шесть рублей 78 копеек" (kopecks in digits,
    as Russian invoices and contracts write them)."""
    amount = to_kopecks(Decimal(amount))
    rubles = int(amount)
    kopecks = int((amount - rubles) * 100)
    words = num2words(rubles, lang="ru")  # masculine: "один рубль", "двадцать один рубль"; "одна тысяча"
    text = (
        f"{words} {plural_ru(rubles, 'рубль', 'рубля', 'рублей')} "
        f"{kopecks:02d} {plural_ru(kopecks, 'копейка', 'копейки', 'копеек')}"
    )
    return text[:1].upper() + text[1:]


def money_ru(value: Decimal | None) -> str:
    """``123 456,78``: groups by a no-break space, comma before kopecks."""
    if value is None:
        return ""
    value = to_kopecks(Decimal(value))
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(value):.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + NBSP.join(groups) + "," + frac


def quantity_ru(value: Decimal) -> str:
    """``2``, ``1,5``, ``0,125``: no trailing zeros, comma as the decimal separator."""
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",")

"""Amounts in words, plural forms, VAT inside prices with rounding per line."""

from decimal import Decimal

import pytest

from otdel.documents.money import amount_in_words, line_amounts, money_ru, sum_lines


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1", "Один рубль 00 копеек"),
        ("2", "Два рубля 00 копеек"),
        ("5", "Пять рублей 00 копеек"),
        ("11", "Одиннадцать рублей 00 копеек"),
        ("12.02", "Двенадцать рублей 02 копейки"),
        ("21", "Двадцать один рубль 00 копеек"),
        ("101.01", "Сто один рубль 01 копейка"),
        ("111.11", "Сто одиннадцать рублей 11 копеек"),
        ("1000", "Одна тысяча рублей 00 копеек"),
        ("2000", "Две тысячи рублей 00 копеек"),
        ("5000", "Пять тысяч рублей 00 копеек"),
        ("21000", "Двадцать одна тысяча рублей 00 копеек"),
        ("1000000", "Один миллион рублей 00 копеек"),
        ("2000000", "Два миллиона рублей 00 копеек"),
        ("0.01", "Ноль рублей 01 копейка"),
        ("0.21", "Ноль рублей 21 копейка"),
        ("0.14", "Ноль рублей 14 копеек"),
        ("123456.78", "Сто двадцать три тысячи четыреста пятьдесят шесть рублей 78 копеек"),
        ("1001.5", "Одна тысяча один рубль 50 копеек"),
    ],
)
def test_amount_in_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_money_is_grouped_with_a_comma_before_kopecks():
    assert money_ru(Decimal("123456.78")).replace("\u00a0", " ") == "123 456,78"
    assert money_ru(Decimal("5")) == "5,00"
    assert money_ru(Decimal("1234567.005")).replace("\u00a0", " ") == "1 234 567,01"


def test_vat_is_taken_out_of_each_rounded_line_total():
    # 3 × 333.33 = 999.99 incl. 20% VAT: VAT = 999.99 × 20 / 120 = 166.665 -> 166.67
    line = line_amounts(
        quantity=Decimal("3"), price=Decimal("333.33"), discount_percent=Decimal("0"), vat_rate="20"
    )
    assert (line.total, line.vat, line.net) == (Decimal("999.99"), Decimal("166.67"), Decimal("833.32"))
    discounted = line_amounts(
        quantity=Decimal("1.5"), price=Decimal("1000"), discount_percent=Decimal("10"), vat_rate="10"
    )
    assert (discounted.total, discounted.vat) == (Decimal("1350.00"), Decimal("122.73"))
    no_vat = line_amounts(
        quantity=Decimal("2"), price=Decimal("10.005"), discount_percent=Decimal("0"), vat_rate="none"
    )
    assert (no_vat.total, no_vat.vat) == (Decimal("20.01"), Decimal("0.00"))
    totals = sum_lines([line, discounted, no_vat])
    assert (totals.gross, totals.vat, totals.net) == (
        Decimal("2370.00"),
        Decimal("289.40"),
        Decimal("2080.60"),
    )

"""Identity normalization: the phones, addresses and handles people really type, and what we store."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from otdel.core.identity import (
    IdentityKind,
    format_phone,
    guess_identity,
    normalize_email,
    normalize_identity,
    normalize_phone,
    normalize_telegram,
)

# (typed by a person, stored E.164 value)
VALID_PHONES = [
    # Russian mobiles in every habit of writing them
    ("8 (912) 345-67-89", "+79123456789"),
    ("+7 912 345 67 89", "+79123456789"),
    ("89123456789", "+79123456789"),
    ("9123456789", "+79123456789"),
    ("79123456789", "+79123456789"),
    ("+7-912-345-67-89", "+79123456789"),
    ("+7.912.345.67.89", "+79123456789"),
    ("8(912)3456789", "+79123456789"),
    ("(912) 345-67-89", "+79123456789"),
    ("  +7 (912) 345-67-89\u00a0", "+79123456789"),
    ("007 912 345 67 89", "+79123456789"),
    ("0079123456789", "+79123456789"),
    ("tel:+79123456789", "+79123456789"),
    # toll-free and city numbers
    ("8-800-555-35-35", "+78005553535"),
    ("8 (800) 200-0-600", "+78002000600"),
    ("+7(495)1234567", "+74951234567"),
    ("4951234567", "+74951234567"),
    ("+7 812 123-45-67", "+78121234567"),
    ("8 (8142) 12-34-56", "+78142123456"),
    ("8 (3812) 23-45-67", "+73812234567"),
    ("8 (81378) 2-34-56", "+78137823456"),
    # extensions, written the many ways offices write them
    ("8 495 123-45-67 доб. 123", "+74951234567;ext=123"),
    ("495 123-45-67 доб. 12", "+74951234567;ext=12"),
    ("+7 (912) 345-67-89 доб.5", "+79123456789;ext=5"),
    ("+79123456789 доб 12", "+79123456789;ext=12"),
    ("8 (495) 123-45-67, доб. 12", "+74951234567;ext=12"),
    ("8 (495) 123-45-67 (доб. 123)", "+74951234567;ext=123"),
    ("+7 495 123 45 67 добавочный 1234", "+74951234567;ext=1234"),
    ("8 (912) 345-67-89 вн. 12", "+79123456789;ext=12"),
    ("+7 912 345-67-89 ext 5", "+79123456789;ext=5"),
    ("+7 912 345-67-89 ext. 5", "+79123456789;ext=5"),
    ("+7 495 1234567 ext5", "+74951234567;ext=5"),
    ("8 912 345 67 89 x12", "+79123456789;ext=12"),
    ("+7 912 345-67-89 #12", "+79123456789;ext=12"),
    ("+79123456789;ext=12", "+79123456789;ext=12"),
    # Kazakhstan shares +7: its 7xx numbers are valid, typed with 8 or +7
    ("+7 701 234 5678", "+77012345678"),
    ("87012345678", "+77012345678"),
    ("8 (727) 250-12-34", "+77272501234"),
    # foreign numbers: with a plus, with 00, with the Russian 8-10 international prefix
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("8 10 44 20 7946 0958", "+442079460958"),
    ("+49 30 12345678", "+493012345678"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("+380 44 123 4567", "+380441234567"),
    ("+375 29 123-45-67", "+375291234567"),
    ("+86 10 1234 5678", "+861012345678"),
    ("+33 1 23 45 67 89", "+33123456789"),
]

INVALID_PHONES = [
    ("", "empty"),
    ("   ", "empty"),
    ("abc", "invalid_phone"),
    ("1", "invalid_phone"),
    ("+", "invalid_phone"),
    ("+7", "invalid_phone"),
    ("123", "invalid_phone"),
    ("123-45-67", "invalid_phone"),  # a city number without its code: which city?
    ("+7 000 000 00 00", "invalid_phone"),
    ("8912345678", "invalid_phone"),  # one digit short
    ("+7 912 345 67 8", "invalid_phone"),
    ("891234567890", "invalid_phone"),  # one digit too many
    ("+79123456789123", "invalid_phone"),
    ("1234567890", "invalid_phone"),  # ten digits but no Russian code starts with 1
    ("8 (495) 123-45-67 (123)", "invalid_phone"),  # a bare number in brackets is not an extension
]


@pytest.mark.parametrize(("raw", "expected"), VALID_PHONES)
def test_normalize_phone_accepts_what_people_type(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), VALID_PHONES)
def test_phone_and_whatsapp_identities_normalize_the_same(raw, expected):
    assert normalize_identity(IdentityKind.PHONE, raw) == expected
    assert normalize_identity("whatsapp", raw) == expected


@pytest.mark.parametrize(("raw", "code"), INVALID_PHONES)
def test_normalize_phone_rejects_garbage(raw, code):
    with pytest.raises(ValidationError) as exc:
        normalize_phone(raw)
    assert exc.value.code == code


def test_normalize_phone_rejects_none():
    with pytest.raises(ValidationError):
        normalize_phone(None)  # type: ignore[arg-type]


def test_the_same_number_in_any_format_is_one_identity():
    typed = ["8 (912) 345-67-89", "+7 912 345 67 89", "89123456789", "9123456789", "007 912 345 67 89"]
    assert {normalize_identity("phone", raw) for raw in typed} == {"+79123456789"}


def test_region_decides_numbers_without_country_code():
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"
    assert normalize_phone("030 12345678", region="DE") == "+493012345678"


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+79123456789", "+7 912 345-67-89"),
        ("+78005553535", "+7 800 555-35-35"),
        ("+74951234567", "+7 495 123-45-67"),
        ("+74951234567;ext=123", "+7 495 123-45-67 ext. 123"),
        ("+77012345678", "+7 701 234 5678"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+14155552671", "+1 415-555-2671"),
        ("+493012345678", "+49 30 12345678"),
        ("not a phone", "not a phone"),  # shown as stored rather than breaking the page
    ],
)
def test_format_phone(e164, shown):
    with translation.override("en"):
        assert format_phone(e164) == shown


def test_format_phone_says_extension_in_the_users_language():
    with translation.override("ru"):
        assert format_phone("+74951234567;ext=123") == "+7 495 123-45-67 доб. 123"


@pytest.mark.parametrize(("raw", "expected"), VALID_PHONES[:20])
def test_format_phone_round_trips(raw, expected):
    assert normalize_phone(format_phone(expected)) == expected


# --- e-mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ivan.petrov@mail.ru", "ivan.petrov@mail.ru"),
        (" Ivan.Petrov@Mail.RU ", "ivan.petrov@mail.ru"),
        ("<ivan@mail.ru>", "ivan@mail.ru"),
        ("mailto:Ivan@Mail.ru", "ivan@mail.ru"),
        ("MAILTO:a@yandex.ru", "a@yandex.ru"),
        ("ivan.petrov@mail.ru.", "ivan.petrov@mail.ru"),  # copied with the sentence's full stop
        ("sales+otdel@romashka-group.ru", "sales+otdel@romashka-group.ru"),
        ("ivan@почта.рф", "ivan@почта.рф"),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected
    assert normalize_identity(IdentityKind.EMAIL, raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ivan", "invalid_email"),
        ("ivan@", "invalid_email"),
        ("@mail.ru", "invalid_email"),
        ("ivan@mail", "invalid_email"),
        ("ivan@@mail.ru", "invalid_email"),
        ("a b@c.ru", "invalid_email"),
    ],
)
def test_normalize_email_rejects_invalid(raw, code):
    with pytest.raises(ValidationError) as exc:
        normalize_email(raw)
    assert exc.value.code == code


# --- telegram and other kinds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456789", "123456789"),
        (" 123456789 ", "123456789"),
        ("-1001234567890", "-1001234567890"),  # a group chat id
        ("@Ivan_Petrov", "@ivan_petrov"),
        ("ivan_petrov", "@ivan_petrov"),
        ("https://t.me/ivan_petrov", "@ivan_petrov"),
        ("t.me/Ivan_Petrov/", "@ivan_petrov"),
        ("telegram.me/ivan_petrov", "@ivan_petrov"),
    ],
)
def test_normalize_telegram(raw, expected):
    assert normalize_telegram(raw) == expected
    assert normalize_identity(IdentityKind.TELEGRAM, raw) == expected


@pytest.mark.parametrize("raw", ["", "ivan", "@ivan petrov", "+123", "иван_петров", "https://t.me/"])
def test_normalize_telegram_rejects_invalid(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_telegram(raw)
    assert exc.value.code == "invalid_telegram"


def test_other_kinds_are_trimmed_and_unknown_kinds_refused():
    assert normalize_identity("vk", "  id12345 ") == "id12345"
    assert normalize_identity("web", "visitor-42") == "visitor-42"
    with pytest.raises(ValidationError) as exc:
        normalize_identity("vk", "   ")
    assert exc.value.code == "empty"
    with pytest.raises(ValidationError) as exc:
        normalize_identity("fax", "+74951234567")
    assert exc.value.code == "invalid_kind"


# --- what a search box makes of a typed string --------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("8 (912) 345-67-89", ("phone", "+79123456789")),
        ("+7 912 345 67 89", ("phone", "+79123456789")),
        ("89123456789", ("phone", "+79123456789")),
        ("tel:+79123456789", ("phone", "+79123456789")),
        ("8 495 123-45-67 доб. 123", ("phone", "+74951234567;ext=123")),
        ("8 (495) 123-45-67 (доб. 123)", ("phone", "+74951234567;ext=123")),
        ("+44 20 7946 0958", ("phone", "+442079460958")),
        (" Ivan@Mail.RU ", ("email", "ivan@mail.ru")),
        ("mailto:ivan@mail.ru", ("email", "ivan@mail.ru")),
        ("Иванов", None),
        ("ООО Ромашка", None),
        ("", None),
        ("   ", None),
        ("912 345", None),  # too few digits to be a phone: searched as text
        ("123-45-67", None),  # looks like a phone but is not a valid one
        ("+7 000 000 00 00", None),
        ("ivan@", None),
        ("@ivan_petrov", None),  # a handle is searched as text, not as an e-mail
        ("Договор 12345678", None),
    ],
)
def test_guess_identity(typed, expected):
    assert guess_identity(typed) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "ivan@пример.рф",
        "IVAN@ПРИМЕР.РФ",
        "ivan@xn--e1afmkfd.xn--p1ai",
        "ivan@XN--E1AFMKFD.XN--P1AI",
        "mailto:ivan@пример.рф.",
    ],
)
def test_an_international_domain_is_one_address_in_unicode_or_punycode(raw):
    assert normalize_email(raw) == "ivan@пример.рф"


@pytest.mark.parametrize("raw", ["ivan@xn--zz.ru", "ivan@" + "а" * 70 + ".рф"])
def test_broken_punycode_is_refused(raw):
    with pytest.raises(ValidationError):
        normalize_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "8-800-ABC-DEFG",  # a vanity number: the parser would dial 8002223334
        "+7 912 ABC 67 89",
        "8 (912) 345-67-89 моб",
        "+7 495 123-45-67 доб. 1 23",
        "+7 912 345 67 89 ext 123456789",  # 9 digits: not an extension
    ],
)
def test_letters_and_overlong_extensions_are_refused_not_guessed(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_a_number_with_an_extension_is_one_identity_however_written():
    written = [
        "+7 495 123-45-67 доб. 123",
        "8 (495) 123 45 67, доб.123",
        "84951234567доб123",
        "+7 495 123-45-67 ext 123",
    ]
    assert {normalize_phone(raw) for raw in written} == {"+74951234567;ext=123"}

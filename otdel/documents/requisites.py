"""Russian requisites checked by their control digits: ИНН, ОГРН/ОГРНИП, КПП, БИК and bank accounts.

Pure functions (no models), so the CRM's Company and our LegalEntity validate the same way; each
``*_error`` returns a message or None, and ``requisites_errors`` maps field names to messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_ACCOUNT_WEIGHTS = (7, 1, 3) * 8  # 23 digits: 3 of the BIK + 20 of the account


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def inn_error(value: str) -> str | None:
    if not re.fullmatch(r"\d{10}|\d{12}", value):
        return _("An INN is 10 digits (an organization) or 12 digits (a person).")
    if len(value) == 10:
        ok = _weighted(value, _INN10) % 11 % 10 == int(value[9])
    else:
        ok = _weighted(value, _INN11) % 11 % 10 == int(value[10]) and _weighted(
            value, _INN12
        ) % 11 % 10 == int(value[11])
    return None if ok else _("The INN's control digit does not match: check the number.")


def ogrn_error(value: str) -> str | None:
    if not re.fullmatch(r"\d{13}|\d{15}", value):
        return _("An OGRN is 13 digits, an OGRNIP 15 digits.")
    if len(value) == 13:
        ok = int(value[:12]) % 11 % 10 == int(value[12])
    else:
        ok = int(value[:14]) % 13 % 10 == int(value[14])
    return None if ok else _("The OGRN's control digit does not match: check the number.")


def kpp_error(value: str) -> str | None:
    if not re.fullmatch(r"\d{4}[0-9A-Z]{2}\d{3}", value):
        return _("A KPP is 9 characters: 4 digits, 2 digits or capital letters, 3 digits.")
    return None


def bik_error(value: str) -> str | None:
    if not re.fullmatch(r"\d{9}", value):
        return _("A BIK is 9 digits.")
    return None


def account_error(account: str, bik: str, *, correspondent: bool = False) -> str | None:
    """A settlement account is keyed with the BIK's last 3 digits; a correspondent one with
    "0" and the BIK's 5th-6th digits (the Bank of Russia's algorithm)."""
    if not re.fullmatch(r"\d{20}", account):
        return _("An account number is 20 digits.")
    if bik_error(bik):
        return _("Enter a valid BIK first: the account is checked against it.")
    key = ("0" + bik[4:6]) if correspondent else bik[-3:]
    if _weighted(key + account, _ACCOUNT_WEIGHTS) % 10 != 0:
        return _("The account number does not match the BIK: check both.")
    return None


def requisites_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """Errors of the filled-in requisites by field name (empty fields are not checked)."""

    def get(name: str) -> str:
        return str(values.get(name) or "").strip()

    errors: dict[str, str | None] = {}
    if get("inn"):
        errors["inn"] = inn_error(get("inn"))
    if get("kpp"):
        errors["kpp"] = kpp_error(get("kpp"))
    if get("ogrn"):
        errors["ogrn"] = ogrn_error(get("ogrn"))
    if get("bik"):
        errors["bik"] = bik_error(get("bik"))
    if get("account"):
        errors["account"] = account_error(get("account"), get("bik"))
    if get("corr_account"):
        errors["corr_account"] = account_error(get("corr_account"), get("bik"), correspondent=True)
    return {name: message for name, message in errors.items() if message}


def validate_requisites(values: Mapping[str, Any]) -> None:
    """Raise a ValidationError naming each field whose control digits do not match."""
    errors = requisites_errors(values)
    if errors:
        raise ValidationError(
            {name: ValidationError(msg, code="control_digit") for name, msg in errors.items()}
        )


def account_with_key(partial: str, bik: str, *, correspondent: bool = False) -> str:
    """Complete a 20-digit account by setting its 9th digit (the key) to match the BIK (demo data)."""
    for digit in "0123456789":
        candidate = partial[:8] + digit + partial[9:]
        if account_error(candidate, bik, correspondent=correspondent) is None:
            return candidate
    raise ValueError("no key digit fits")

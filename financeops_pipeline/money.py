"""Exact money: integer minor units plus an ISO 4217 currency. No float ever touches an amount."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext


def _iso_4217_exponents() -> tuple[dict[str, int], frozenset[str]]:
    """Minor-unit digits of every ISO 4217 code, current and historic, from the published lists.

    Current codes (ISO's List One, through `iso-4217`) carry ISO's own minor units; a code whose minor unit is
    "N.A." (XXX, XAU, XDR, XTS...) has no minor unit, so its amounts are whole units (exponent 0): a fraction
    of one is refused like any excess decimal, never rounded. Withdrawn codes (List Three: DEM, NLG, FRF,
    ITL...) are still valid in old statements, but ISO no longer publishes their minor units: those come from
    the Unicode CLDR through Babel (DEM 2, ITL 0, ESP 0).
    """
    from babel.numbers import get_currency_precision
    from iso_4217 import Currency

    exponents: dict[str, int] = {}
    no_minor_unit: set[str] = set()
    for currency in Currency:
        if currency.entities:                       # in use today: ISO's minor unit, N.A. = none
            exponents[currency.name] = currency.subunit_exp or 0
            if currency.subunit_exp is None:
                no_minor_unit.add(currency.name)
        else:                                       # withdrawn: CLDR's digits
            exponents[currency.name] = get_currency_precision(currency.name)
    return exponents, frozenset(no_minor_unit)


# ISO 4217 minor-unit exponents of every known code (current and historic). Codes absent here are rejected as
# unknown currencies. NO_MINOR_UNIT: the codes ISO gives no minor unit ("N.A.": XXX, XAU, XDR...).
CURRENCY_EXPONENTS, NO_MINOR_UNIT = _iso_4217_exponents()


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (JPY 0, USD 2, BHD 3)."""
    code = normalize_currency(currency)
    return CURRENCY_EXPONENTS[code]


def normalize_currency(currency: str) -> str:
    """Upper-case ISO 4217 code, or MoneyError for an unknown one."""
    code = (currency or "").strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unknown currency {currency!r}")
    return code


_AMOUNT = re.compile(r"[+-]?[0-9]{1,18}(\.[0-9]{0,18})?")  # "9." (MT940 "9,") is 9
_INT64_MAX = 2**63 - 1


def to_minor(amount: str | int | Decimal, currency: str) -> int:
    """Convert a major-unit amount ('12.34', '-0.77', 5, Decimal('1.5')) to exact integer minor units.

    Text must be plain ASCII digits with an optional sign and '.' decimal point: no exponent, no
    thousands separators (ambiguous across locales). More decimals than the currency allows is an
    error, never a rounding; so is anything beyond the int64 range the ledger stores.
    """
    if isinstance(amount, float):
        raise MoneyError("float amounts are refused; pass a decimal string")
    exponent = currency_exponent(currency)
    if isinstance(amount, str):
        text = amount.strip()
        if not _AMOUNT.fullmatch(text):
            raise MoneyError(f"unparseable amount {amount!r}")
        whole, _, fraction = text.lstrip("+-").partition(".")
        fraction = fraction.rstrip("0")
        if len(fraction) > exponent:
            raise MoneyError(_too_many_decimals(amount, currency, exponent))
        minor = int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
        minor = -minor if text.startswith("-") else minor
    else:
        value = Decimal(amount)
        if not value.is_finite() or abs(value.adjusted()) > 18:
            raise MoneyError(f"amount {amount!r} out of range")
        with localcontext() as ctx:
            ctx.prec = 60
            scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise MoneyError(_too_many_decimals(amount, currency, exponent))
        minor = int(scaled)
    if abs(minor) > _INT64_MAX:
        raise MoneyError(f"amount {amount!r} is beyond the int64 range of the ledger")
    return minor


def _too_many_decimals(amount: object, currency: str, exponent: int) -> str:
    code = normalize_currency(currency)
    if code in NO_MINOR_UNIT:
        return f"amount {amount!r}: {code} has no minor unit in ISO 4217, so amounts are whole units (not rounded)"
    return f"amount {amount!r} has more decimals than {code} allows ({exponent}); not rounded"


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """Exact major-unit Decimal for display."""
    return Decimal(int(amount_minor)).scaleb(-currency_exponent(currency))


def format_minor(amount_minor: int, currency: str) -> str:
    """Human text such as '1234.50 USD'."""
    exponent = currency_exponent(currency)
    return f"{from_minor(amount_minor, currency):.{exponent}f} {normalize_currency(currency)}"

"""Exact money: integer minor units plus an ISO 4217 currency. No float ever touches an amount."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

# ISO 4217 minor-unit exponents. Codes absent here are rejected as unknown currencies.
_EXPONENT_OVERRIDES: dict[str, int] = {
    # zero-decimal currencies
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal currencies
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four-decimal accounting units
    "CLF": 4, "UYW": 4,
}
_TWO_DECIMAL = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD "
    "CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD "
    "HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON "
    "RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD "
    "TZS UAH USD UZS VES WST XCD YER ZAR ZMW ZWG"
).split()

CURRENCY_EXPONENTS: dict[str, int] = {code: 2 for code in _TWO_DECIMAL} | _EXPONENT_OVERRIDES


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
            raise MoneyError(f"amount {amount!r} has more decimals than {currency.upper()} allows ({exponent})")
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
            raise MoneyError(f"amount {amount!r} has more decimals than {currency.upper()} allows ({exponent})")
        minor = int(scaled)
    if abs(minor) > _INT64_MAX:
        raise MoneyError(f"amount {amount!r} is beyond the int64 range of the ledger")
    return minor


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """Exact major-unit Decimal for display."""
    return Decimal(int(amount_minor)).scaleb(-currency_exponent(currency))


def format_minor(amount_minor: int, currency: str) -> str:
    """Human text such as '1234.50 USD'."""
    exponent = currency_exponent(currency)
    return f"{from_minor(amount_minor, currency):.{exponent}f} {normalize_currency(currency)}"

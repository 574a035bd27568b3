"""Exact money: minor units per ISO 4217 exponent, no rounding, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from financeops_pipeline.money import MoneyError, currency_exponent, format_minor, from_minor, to_minor


@pytest.mark.parametrize("text, currency, minor", [
    ("12.34", "USD", 1234), ("-0.77", "usd", -77), ("1000", "JPY", 1000), ("1.234", "BHD", 1234),
    ("0.1", "EUR", 10), ("+5.00", "GBP", 500), ("12.3400", "USD", 1234),
])
def test_major_to_minor_by_currency_exponent(text, currency, minor):
    assert to_minor(text, currency) == minor


@pytest.mark.parametrize("text, currency", [
    ("12.345", "USD"), ("1.5", "JPY"), ("1e3", "USD"), ("1,000.00", "USD"), ("1_000", "USD"), ("", "USD"),
    ("١٢", "USD"), ("12.00", "XYZ"), ("1.5", "XAU"), ("0.001", "DEM"),
    ("1.00000000000000000000000000001", "USD"), ("99999999999999999.99", "USD"),
])
def test_inexact_or_ambiguous_amounts_are_refused(text, currency):
    with pytest.raises(MoneyError):
        to_minor(text, currency)


@pytest.mark.parametrize("code, exponent", [
    # ISO 4217 List One (current): USD 2, JPY 0, BHD 3, IQD 3 (CLDR says 0), CLF 4, the new XCG 2
    ("USD", 2), ("JPY", 0), ("BHD", 3), ("IQD", 3), ("CLF", 4), ("XCG", 2),
    # "N.A." minor unit: no minor unit, whole units only
    ("XXX", 0), ("XAU", 0), ("XDR", 0), ("XTS", 0),
    # List Three (withdrawn), digits from CLDR: DEM, NLG, FRF, ATS 2; ITL, ESP 0; BGN and ANG since 2025/2026
    ("DEM", 2), ("NLG", 2), ("FRF", 2), ("ATS", 2), ("ITL", 0), ("ESP", 0), ("BGN", 2), ("ANG", 2),
])
def test_current_and_historic_codes_have_their_minor_units(code, exponent):
    assert currency_exponent(code) == exponent


def test_codes_without_minor_units_take_whole_units_exactly():
    assert to_minor("12", "XXX") == 12 and to_minor("12.000", "XXX") == 12   # extra zeros are exact
    with pytest.raises(MoneyError, match="XXX has no minor unit"):
        to_minor("12.50", "XXX")
    assert from_minor(7, "XAU") == Decimal(7) and format_minor(7, "XAU") == "7 XAU"


def test_historic_currencies_are_known():
    assert to_minor("620.3", "DEM") == 62030 and to_minor("1000", "ITL") == 1000
    with pytest.raises(MoneyError, match="not rounded"):
        to_minor("1000.5", "ITL")


def test_floats_are_refused():
    with pytest.raises(MoneyError, match="float"):
        to_minor(0.1, "USD")  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "BHD"]))
def test_round_trip_through_text_is_exact(minor, currency):
    text = str(from_minor(minor, currency))
    assert to_minor(text, currency) == minor
    assert to_minor(Decimal(text), currency) == minor


def test_format():
    assert format_minor(-123450, "USD") == "-1234.50 USD"
    assert format_minor(5, "JPY") == "5 JPY"

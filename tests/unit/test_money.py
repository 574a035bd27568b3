"""Exact money: minor units per ISO 4217 exponent, no rounding, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from financeops_pipeline.money import MoneyError, format_minor, from_minor, to_minor


@pytest.mark.parametrize("text, currency, minor", [
    ("12.34", "USD", 1234), ("-0.77", "usd", -77), ("1000", "JPY", 1000), ("1.234", "BHD", 1234),
    ("0.1", "EUR", 10), ("+5.00", "GBP", 500), ("12.3400", "USD", 1234),
])
def test_major_to_minor_by_currency_exponent(text, currency, minor):
    assert to_minor(text, currency) == minor


@pytest.mark.parametrize("text, currency", [
    ("12.345", "USD"), ("1.5", "JPY"), ("1e3", "USD"), ("1,000.00", "USD"), ("1_000", "USD"), ("", "USD"),
    ("١٢", "USD"), ("12.00", "XXX"), ("1.00000000000000000000000000001", "USD"), ("99999999999999999.99", "USD"),
])
def test_inexact_or_ambiguous_amounts_are_refused(text, currency):
    with pytest.raises(MoneyError):
        to_minor(text, currency)


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

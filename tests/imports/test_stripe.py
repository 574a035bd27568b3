"""Stripe itemized balance report parser: the public sample, conventions, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import stripe
from financeops_pipeline.imports.records import PROCESSOR_LINE_SCHEMA, to_table
from tests.conftest import shared_sample

HEADER = (
    "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,"
    "source_id,description,automatic_payout_id,automatic_payout_effective_at"
)


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def test_hledger_sample():
    parsed = stripe.parse(shared_sample("stripe/hledger__stripe.csv"), "stripe.csv")
    assert parsed.format == "stripe" and parsed.source == "processor"
    assert parsed.errors == []
    # The file has 2 data lines: a charge of 12.00 and a refund of -0.77, both with fee 0.00.
    assert len(parsed.records()) == 2
    # gross: 12.00 + (-0.77) = 11.23 -> 1123 cents; fee 0; net = 12.00 + (-0.77) = 1123 cents.
    assert sum(r["gross_minor"] for r in parsed.records()) == 1123
    assert sum(r["fee_minor"] for r in parsed.records()) == 0
    assert sum(r["net_minor"] for r in parsed.records()) == 1123
    charge, refund = parsed.records()
    assert set(charge) == set(PROCESSOR_LINE_SCHEMA.names)
    assert charge["line_id"] == "txn_14G11HjubSIHf9IKrvJdwN"
    assert charge["category"] == "charge" and charge["gross_minor"] == 1200
    assert charge["created_at"] == datetime(2020, 1, 23, 8, 26, 29, tzinfo=UTC)
    assert charge["available_on"] == date(2020, 1, 27)
    assert charge["currency"] == "USD"
    assert charge["source_position"] == "line 2"
    assert charge["extra"] is None  # its only unmodelled cell, description, is empty
    assert refund["line_id"] == "txn_14G11HjHgubIH9ZvbPgYO7"
    assert refund["category"] == "refund" and refund["gross_minor"] == -77 and refund["net_minor"] == -77
    assert json.loads(refund["extra"]) == {"description": "REFUND FOR PAYMENT"}
    assert refund["source_position"] == "line 3"
    # No source_id / payout columns in this export.
    assert refund["reference"] is None and refund["payout_id"] is None and refund["payout_date"] is None
    assert to_table(parsed.records(), PROCESSOR_LINE_SCHEMA).num_rows == 2


def test_full_report_columns_and_categories():
    data = csv_bytes(
        "txn_1,2026-11-02 10:00:00,2026-11-04 00:00:00,eur,100.00,3.20,96.80,charge,ch_1,Order 1,po_9,"
        "2026-11-05 00:00:00",
        "txn_2,2026-11-02 11:00:00,2026-11-04 00:00:00,eur,-40.00,0.00,-40.00,refund,re_1,,po_9,"
        "2026-11-05 00:00:00",
        "txn_3,2026-11-02 12:00:00,,eur,-15.00,0.00,-15.00,stripe_fee,,Radar,,",
        "txn_4,2026-11-02 13:00:00,,eur,-20.00,15.00,-35.00,dispute,dp_1,,,",
        "txn_5,2026-11-02 14:00:00,,eur,5.00,0.00,5.00,other_adjustment,,,,",
        "txn_6,2026-11-02T15:00:00+01:00,,jpy,500,0,500,charge,ch_2,,,",
    )
    parsed = stripe.parse(data, "full.csv")
    assert parsed.errors == []
    by_id = {r["line_id"]: r for r in parsed.records()}
    assert by_id["txn_1"]["reference"] == "ch_1"
    assert by_id["txn_1"]["fee_minor"] == 320 and by_id["txn_1"]["net_minor"] == 9680
    assert by_id["txn_1"]["payout_id"] == "po_9" and by_id["txn_1"]["payout_date"] == date(2026, 11, 5)
    assert [by_id[f"txn_{i}"]["category"] for i in range(1, 7)] == [
        "charge", "refund", "fee", "dispute", "adjustment", "charge"]
    assert by_id["txn_5"]["processor_type"] == "other_adjustment"
    assert by_id["txn_3"]["available_on"] is None
    # An explicit offset is honoured: 15:00 at +01:00 is 14:00 UTC. JPY has no minor digits.
    assert by_id["txn_6"]["created_at"] == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert by_id["txn_6"]["gross_minor"] == 500 and by_id["txn_6"]["currency"] == "JPY"


def test_older_type_column_is_accepted():
    data = csv_bytes("txn_1,2026-11-02 10:00:00,usd,1.00,0.00,1.00,charge",
                     header="balance_transaction_id,created_utc,currency,gross,fee,net,type")
    assert stripe.sniff(data)
    parsed = stripe.parse(data, "old.csv")
    assert parsed.errors == [] and parsed.records()[0]["category"] == "charge"


def _only_error(data: bytes, filename: str = "bad.csv"):
    parsed = stripe.parse(data, filename)
    assert len(parsed.errors) == 1, parsed.errors
    return parsed, parsed.errors[0]


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("txn_2,2026-11-02 10:00:00,,usd,12.3x,0.00,12.30,charge,,,,", "gross", "unparseable"),
        ("txn_2,2026-11-02 10:00:00,,usd,12.345,0.00,12.345,charge,,,,", "gross", "more decimals"),
        ("txn_2,2026-11-02 10:00:00,,usx,12.00,0.00,12.00,charge,,,,", "currency", "unknown currency"),
        ("txn_2,2026-13-02 10:00:00,,usd,12.00,0.00,12.00,charge,,,,", "created_utc", "unparseable"),
        ("txn_2,2026-11-02 10:00:00,someday,usd,12.00,0.00,12.00,charge,,,,", "available_on_utc",
         "unparseable"),
        ("txn_2,2026-11-02 10:00:00,,usd,12.00,0.50,12.00,charge,,,,", "net", "!= net"),
        ("txn_2,2026-11-02 10:00:00,,usd,-12.00,0.00,-12.00,charge,,,,", "gross", "wrong sign"),
        ("txn_2,2026-11-02 10:00:00,,usd,12.00,0.00,12.00,refund,,,,", "gross", "wrong sign"),
        (",2026-11-02 10:00:00,,usd,12.00,0.00,12.00,charge,,,,", "balance_transaction_id", "empty"),
        ("txn_1,2026-11-02 10:00:00,,usd,12.00,0.00,12.00,charge,,,,", "balance_transaction_id", "duplicate"),
        ("txn_2,2026-11-02 10:00:00,,usd,12.00,0.00,12.00,,,,,", "reporting_category", "empty"),
        ("txn_2,2026-11-02 10:00:00,usd,12.00", "-", "expected 12 fields"),
    ],
)
def test_bad_line_is_a_record_error_and_others_survive(line, field, words):
    good = "txn_1,2026-11-02 09:00:00,,usd,1.00,0.00,1.00,charge,ch_1,,,"
    parsed, err = _only_error(csv_bytes(good, line, good.replace("txn_1", "txn_3")))
    assert (err.file, err.position, err.field) == ("bad.csv", "line 3", field)
    assert words in err.message
    assert err.raw == line
    assert [r["line_id"] for r in parsed.records()] == ["txn_1", "txn_3"]
    assert [r["source_position"] for r in parsed.records()] == ["line 2", "line 4"]


def test_line_numbers_are_physical_lines():
    # A quoted description spanning two lines and a blank line: positions count physical lines.
    data = csv_bytes(
        'txn_1,2026-11-02 09:00:00,,usd,1.00,0.00,1.00,charge,ch_1,"two\nlines",,',
        "",
        "txn_2,2026-11-02 09:00:00,,usd,1.00,0.10,1.00,charge,ch_2,,,",
    )
    parsed, err = _only_error(data)
    assert parsed.records()[0]["source_position"] == "line 2"
    assert json.loads(parsed.records()[0]["extra"]) == {"description": "two\nlines"}
    assert (err.position, err.field) == ("line 5", "net")


def test_missing_columns_are_all_named():
    data = b"balance_transaction_id,created_utc,gross\ntxn_1,2026-11-02 09:00:00,1.00\n"
    with pytest.raises(FileRejected) as info:
        stripe.parse(data, "short.csv")
    err = info.value.error
    assert err.file == "short.csv" and err.position == "line 1" and err.field == "currency"
    for column in ("currency", "fee", "net", "reporting_category"):
        assert repr(column) in err.message


def test_undecodable_bytes_name_the_offset():
    data = csv_bytes("txn_1,2026-11-02 09:00:00,,usd,1.00,0.00,1.00,charge,ch_1,caf\xe9,,").replace(
        "é".encode(), b"\xe9")
    offset = data.index(b"\xe9")
    with pytest.raises(FileRejected) as info:
        stripe.parse(b"\xef\xbb\xbf" + data, "latin1.csv")
    assert info.value.error.file == "latin1.csv"
    assert info.value.error.position == f"byte {offset + 3}"
    assert f"byte offset {offset + 3}" in info.value.error.message


def test_bom_and_crlf_are_fine():
    data = csv_bytes("txn_1,2026-11-02 09:00:00,,usd,1.00,0.00,1.00,charge,ch_1,,,")
    data = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")
    parsed = stripe.parse(data, "bom.csv")
    assert parsed.errors == [] and parsed.records()[0]["line_id"] == "txn_1"


@pytest.mark.parametrize("data", [b"", b"   \n\n", HEADER.encode()])
def test_empty_file_or_header_only(data):
    if data == HEADER.encode():
        assert stripe.parse(data, "h.csv").records() == []
    else:
        with pytest.raises(FileRejected, match="empty file"):
            stripe.parse(data, "e.csv")


def test_sniff():
    assert stripe.sniff(csv_bytes())
    assert not stripe.sniff(b"transaction_id,processor_reference,amount\n")
    assert not stripe.sniff(b"\x00\x01\x02")
    assert not stripe.sniff(b"")

"""Adyen settlement details report parser: the public sample, conventions, and bad input."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import adyen
from financeops_pipeline.imports.records import PROCESSOR_LINE_SCHEMA, to_table
from tests.conftest import shared_sample

HEADER = (
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,"
    "TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,"
    "Net Currency,"
    "Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),"
    "Payment Method Variant,Batch Number"
)
SETTLED = (
    "Co,ACC,111,M1,visa,2026-11-02 10:00:00,CET,Settled,m1,EUR,,100.00,1,EUR,,97.00,,1.00,0.50,1.50,vc,7"
)


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def test_batch_380_sample():
    parsed = adyen.parse(shared_sample("adyen/oca__settlement_detail_report_batch_380.csv"), "batch380.csv")
    assert parsed.format == "adyen" and parsed.source == "processor"
    assert parsed.errors == []
    # 229 physical lines = header + 228 records: 220 Settled, 6 Refunded, 1 Fee, 1 MerchantPayout
    # (counted with `cut -d, -f8 | sort | uniq -c`).
    assert len(parsed.records()) == 228
    assert Counter(r["processor_type"] for r in parsed.records()) == {
        "Settled": 220, "Refunded": 6, "Fee": 1, "MerchantPayout": 1}
    rows = parsed.records()
    payout = [r for r in rows if r["category"] == "payout"]
    others = [r for r in rows if r["category"] != "payout"]
    # The file's own last line: MerchantPayout, Net Debit (NC) 55308.07. The batch's other lines must net
    # to exactly that: this is the identity the file was chosen for.
    assert len(payout) == 1 and payout[0]["net_minor"] == -5530807
    assert sum(r["net_minor"] for r in others) == 5530807
    # The 6 Refunded lines (41, 101, 115, 124, 128, 133), Gross Debit: 19.95 + 75 + 461.5 + 76.5 + 40 + 419
    # = 1091.95; Net Debit: same but 40.2 and 419.2 = 1092.35; fees: Commission 0.2 on lines 128 and 133.
    refunds = [r for r in rows if r["category"] == "refund"]
    assert sum(r["gross_minor"] for r in refunds) == -109195
    assert sum(r["net_minor"] for r in refunds) == -109235
    assert sum(r["fee_minor"] for r in refunds) == 40
    # Fee line 228: Net Debit 38.10, no gross and no fee columns -> gross = net = -38.10.
    (fee_row,) = [r for r in rows if r["category"] == "fee"]
    assert (fee_row["gross_minor"], fee_row["fee_minor"], fee_row["net_minor"]) == (-3810, 0, -3810)
    assert fee_row["source_position"] == "line 228"
    # Settled total net = payout + refunds + fee = 55308.07 + 1092.35 + 38.10 = 56438.52; every line keeps
    # gross - fee == net, so the totals do too.
    settled = [r for r in rows if r["category"] == "charge"]
    assert sum(r["net_minor"] for r in settled) == 5643852
    assert all(r["gross_minor"] - r["fee_minor"] == r["net_minor"] for r in rows)
    # Line 2: 31.45 gross, Markup 0.16 + Scheme Fees 0.05 + Interchange 0.09 = 0.30 fee, 31.15 net.
    first = rows[0]
    assert first["source_position"] == "line 2"
    assert (first["gross_minor"], first["fee_minor"], first["net_minor"]) == (3145, 30, 3115)
    assert first["reference"] == "1829098024817852" and first["merchant_reference"] == "CM1000028854"
    assert first["line_id"] == "YOURCOMPANY_ACCOUNT:380:1829098024817852:Settled:7429098024927090"
    # 2021-01-05 00:21:32 CET (fixed +01:00) = 2021-01-04 23:21:32 UTC.
    assert first["created_at"] == datetime(2021, 1, 4, 23, 21, 32, tzinfo=UTC)
    assert first["currency"] == "USD"
    assert first["payout_id"] == "YOURCOMPANY_ACCOUNT:380"
    # MerchantPayout Creation Date 2021-01-07 00:46:38 CET -> payout date 2021-01-07 for every line.
    assert {r["payout_date"] for r in rows} == {date(2021, 1, 7)}
    # Line 5 (directEbanking): only Commission 0.97 is set: 96.9 - 0.97 = 95.93.
    assert (rows[3]["gross_minor"], rows[3]["fee_minor"], rows[3]["net_minor"]) == (9690, 97, 9593)
    extra = json.loads(first["extra"])
    assert extra["Payment Method"] == "mc" and extra["Booking Date"] == "2021-01-06 23:50:00"
    assert "Reserved4" not in extra  # empty cells are not kept
    assert len({r["line_id"] for r in rows}) == 228
    assert to_table(rows, PROCESSOR_LINE_SCHEMA).num_rows == 228


def test_categories_timezones_and_fx():
    data = csv_bytes(
        SETTLED,
        "Co,ACC,222,M2,visa,2026-07-02 10:00:00,CEST,Refunded,m2,EUR,10.00,,1,EUR,10.00,,,,,,vc,7",
        "Co,ACC,333,M3,visa,2026-07-02 10:00:00,Europe/Amsterdam,Chargeback,m3,EUR,5.00,,1,EUR,5.00,,,,,,"
        "vc,7",
        "Co,ACC,444,M4,visa,2026-07-02 10:00:00,UTC,Settled,m4,USD,,110.00,0.9,EUR,,98.00,1.00,,,,vc,7",
        "Co,ACC,,,,2026-07-02 10:00:00,CET,DepositCorrection,dc1,,,,,EUR,,3.00,,,,,,7",
        "Co,ACC,,,,2026-07-02 10:00:00,CET,SomethingNew,x,,,,,EUR,,1.00,,,,,,7",
    )
    parsed = adyen.parse(data, "mix.csv")
    assert parsed.errors == []
    settled, refund, chargeback, fx, correction, other = parsed.records()
    assert (settled["gross_minor"], settled["fee_minor"], settled["net_minor"]) == (10000, 300, 9700)
    assert settled["created_at"] == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # CET = +01:00
    assert refund["category"] == "refund" and refund["gross_minor"] == -1000
    assert refund["created_at"] == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)  # CEST = +02:00
    assert chargeback["category"] == "dispute"
    assert chargeback["created_at"] == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)  # IANA zone, summer time
    # FX: gross is stated in the net currency as net + fee = 98.00 + 1.00; the USD amount and the rate are
    # kept in their own columns, the rate exactly as written.
    assert (fx["currency"], fx["gross_minor"], fx["fee_minor"], fx["net_minor"]) == ("EUR", 9900, 100, 9800)
    assert (fx["gross_currency"], fx["gross_gc_minor"], fx["exchange_rate"]) == ("USD", 11000, Decimal("0.9"))
    assert "Exchange Rate" not in (fx["extra"] or "") and settled["gross_currency"] is None
    assert correction["category"] == "adjustment" and correction["gross_minor"] == 300
    assert other["category"] == "other" and other["processor_type"] == "SomethingNew"
    assert settled["payout_date"] is None  # no MerchantPayout line in this file


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (SETTLED.replace(",100.00,", ",1OO.00,"), "Gross Credit (GC)", "unparseable"),
        (SETTLED.replace(",97.00,", ",97.001,"), "Net Credit (NC)", "more decimals"),
        (SETTLED.replace(",1.50,", ",x,"), "Interchange (NC)", "unparseable"),
        (SETTLED.replace("EUR,,97", "EUX,,97"), "Net Currency", "unknown currency"),
        (SETTLED.replace("2026-11-02 10:00:00", "2026-11-31 10:00:00"), "Creation Date", "unparseable"),
        (SETTLED.replace(",CET,", ",Mars/Olympus,"), "TimeZone", "unknown time zone"),
        (SETTLED.replace(",97.00,", ",96.00,"), "Net Credit (NC)", "!= net"),
        (SETTLED.replace(",,100.00,", ",100.00,,").replace(",,97.00,", ",97.00,,"), "Gross Debit (GC)",
         "wrong sign"),
        (SETTLED.replace(",7", ","), "Batch Number", "empty"),
        (SETTLED.replace(",Settled,", ",,"), "Type", "empty"),
    ],
)
def test_bad_line_is_a_record_error(line, field, words):
    parsed = adyen.parse(csv_bytes(SETTLED.replace("111", "110"), line), "bad.csv")
    assert len(parsed.errors) == 1, parsed.errors
    err = parsed.errors[0]
    assert (err.file, err.position, err.field) == ("bad.csv", "line 3", field)
    assert words in err.message
    assert err.raw == line
    assert len(parsed.records()) == 1


def test_repeated_key_gets_a_suffix():
    fee = "Co,ACC,,,,2026-11-02 10:00:00,CET,Fee,Fees,,,,,EUR,1.00,,,,,,,7"
    parsed = adyen.parse(csv_bytes(fee, fee), "fees.csv")
    assert [r["line_id"] for r in parsed.records()] == ["ACC:7:-:Fee:Fees", "ACC:7:-:Fee:Fees#2"]


def test_missing_columns_are_all_named():
    header = HEADER.replace(",Batch Number", "").replace("Psp Reference,", "")
    with pytest.raises(FileRejected) as info:
        adyen.parse(csv_bytes(header=header), "noref.csv")
    err = info.value.error
    assert (err.file, err.position, err.field) == ("noref.csv", "line 1", "Psp Reference")
    assert "'Psp Reference'" in err.message and "'Batch Number'" in err.message


def test_undecodable_bytes():
    data = csv_bytes(SETTLED).replace(b"M1", b"M\xff")
    with pytest.raises(FileRejected) as info:
        adyen.parse(data, "bin.csv")
    offset = data.index(b"\xff")
    assert info.value.error.position == f"byte {offset}"


def test_sniff():
    assert adyen.sniff(csv_bytes())
    assert not adyen.sniff(b"balance_transaction_id,gross,net,reporting_category\n")
    assert not adyen.sniff(b"")

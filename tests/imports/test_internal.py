"""Internal transaction export parser, CSV and Parquet."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import internal
from financeops_pipeline.imports.records import INTERNAL_TRANSACTION_SCHEMA, to_table

HEADER = (
    "transaction_id,created_at,type,amount,currency,processor,processor_reference,customer_id,description"
)
GOOD = [
    "t1,2026-11-02T10:00:00+01:00,payment,12.34,EUR,stripe,ch_1,c1,Order 1",
    "t2,2026-11-02T11:00:00Z,refund,0.77,usd,adyen,8815,c2,",
    "t3,2026-11-02 12:00:00.5+00:00,chargeback,500,JPY,Stripe,dp_1,,Dispute",
]


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def test_csv_good_rows():
    data = csv_bytes(*(g + ",x" for g in GOOD), header=HEADER + ",ignored_extra")
    parsed = internal.parse(data, "export.csv")
    assert parsed.format == "internal_csv" and parsed.source == "internal"
    assert parsed.errors == []
    t1, t2, t3 = parsed.records()
    assert set(t1) == set(INTERNAL_TRANSACTION_SCHEMA.names)
    assert t1["created_at"] == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert (t1["amount_minor"], t1["currency"], t1["type"]) == (1234, "EUR", "payment")
    assert t1["source_position"] == "line 2" and t1["description"] == "Order 1"
    assert (t2["amount_minor"], t2["currency"], t2["processor"]) == (77, "USD", "adyen")
    assert t2["description"] is None
    assert (t3["amount_minor"], t3["currency"], t3["processor"]) == (500, "JPY", "stripe")
    assert t3["customer_id"] is None
    assert t3["created_at"] == datetime(2026, 11, 2, 12, 0, 0, 500000, tzinfo=UTC)
    # 12.34 EUR + 0.77 USD + 500 JPY: per currency 1234, 77 and 500 minor units.
    assert to_table(parsed.records(), INTERNAL_TRANSACTION_SCHEMA).num_rows == 3


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("t9,2026-11-02T10:00:00+01:00,payment,12.3.4,EUR,stripe,ch_9,c,d", "amount", "unparseable"),
        ("t9,2026-11-02T10:00:00+01:00,payment,0.00,EUR,stripe,ch_9,c,d", "amount", "positive"),
        ("t9,2026-11-02T10:00:00+01:00,payment,-5.00,EUR,stripe,ch_9,c,d", "amount", "positive"),
        ("t9,2026-11-02T10:00:00+01:00,payment,5.00,EURO,stripe,ch_9,c,d", "currency", "unknown currency"),
        ("t9,2026-02-30T10:00:00+01:00,payment,5.00,EUR,stripe,ch_9,c,d", "created_at", "unparseable"),
        ("t9,2026-11-02T10:00:00,payment,5.00,EUR,stripe,ch_9,c,d", "created_at", "no UTC offset"),
        ("t9,2026-11-02T10:00:00+01:00,payout,5.00,EUR,stripe,ch_9,c,d", "type", "not one of"),
        ("t9,2026-11-02T10:00:00+01:00,payment,5.00,EUR,klarna,ch_9,c,d", "processor", "not one of"),
        ("t9,2026-11-02T10:00:00+01:00,payment,5.00,EUR,stripe,,c,d", "processor_reference", "empty"),
        (",2026-11-02T10:00:00+01:00,payment,5.00,EUR,stripe,ch_9,c,d", "transaction_id", "empty"),
        ("t1,2026-11-02T10:00:00+01:00,payment,5.00,EUR,stripe,ch_9,c,d", "transaction_id", "duplicate"),
    ],
)
def test_csv_bad_line(line, field, words):
    parsed = internal.parse(csv_bytes(GOOD[0], line, GOOD[1]), "bad.csv")
    assert len(parsed.errors) == 1, parsed.errors
    err = parsed.errors[0]
    assert (err.file, err.position, err.field) == ("bad.csv", "line 3", field)
    assert words in err.message
    assert err.raw == line
    assert [r["transaction_id"] for r in parsed.records()] == ["t1", "t2"]


def test_duplicate_is_reported_on_the_later_line():
    parsed = internal.parse(csv_bytes(GOOD[0], GOOD[1], GOOD[0]), "dup.csv")
    assert [(e.position, e.field) for e in parsed.errors] == [("line 4", "transaction_id")]


def test_csv_missing_columns_and_bad_bytes():
    with pytest.raises(FileRejected) as info:
        internal.parse(b"transaction_id,amount,processor_reference\nt1,1.00,ch\n", "few.csv")
    err = info.value.error
    assert (err.file, err.position, err.field) == ("few.csv", "line 1", "created_at")
    for column in ("created_at", "type", "currency", "processor", "customer_id", "description"):
        assert repr(column) in err.message
    data = csv_bytes(GOOD[0]) + b"t2,\x80\n"
    offset = data.index(b"\x80")
    with pytest.raises(FileRejected, match=f"byte offset {offset}"):
        internal.parse(data, "bin.csv")


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _columns(amount: pa.Array, created: pa.Array | None = None) -> dict[str, pa.Array]:
    n = len(amount)
    return {
        "transaction_id": pa.array([f"p{i}" for i in range(n)]),
        "created_at": created if created is not None else pa.array(
            [datetime(2026, 11, 2, 10, i, tzinfo=UTC) for i in range(n)], pa.timestamp("us", tz="UTC")),
        "type": pa.array(["payment"] * n),
        "amount": amount,
        "currency": pa.array(["EUR"] * n),
        "processor": pa.array(["adyen"] * n),
        "processor_reference": pa.array([f"psp{i}" for i in range(n)]),
        "customer_id": pa.array([1, None, 3][:n], pa.int64()),
        "description": pa.array(["a", None, "c"][:n]),
    }


def test_parquet_decimal_amounts():
    amounts = pa.array([Decimal("12.34"), Decimal("0.50"), Decimal("-1.00")], pa.decimal128(12, 2))
    data = _parquet(pa.table(_columns(amounts)))
    assert internal.sniff(data) and internal.sniff_parquet(data) and not internal.sniff_csv(data)
    parsed = internal.parse(data, "export.parquet")
    assert parsed.format == "internal_parquet"
    # 12.34 -> 1234, 0.50 -> 50; -1.00 is refused (amounts are exported positive).
    assert [r["amount_minor"] for r in parsed.records()] == [1234, 50]
    assert [r["source_position"] for r in parsed.records()] == ["row 1", "row 2"]
    assert parsed.records()[0]["created_at"] == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert parsed.records()[0]["customer_id"] == "1" and parsed.records()[1]["customer_id"] is None
    assert [(e.file, e.position, e.field) for e in parsed.errors] == [("export.parquet", "row 3", "amount")]


def test_parquet_string_columns_and_naive_text():
    created = pa.array(["2026-11-02T10:00:00+01:00", "2026-11-02T10:00:00"])
    data = _parquet(pa.table(_columns(pa.array(["1.00", "2.00"]), created)))
    parsed = internal.parse(data, "s.parquet")
    assert parsed.records()[0]["created_at"] == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert [(e.position, e.field) for e in parsed.errors] == [("row 2", "created_at")]


def test_parquet_float_amount_is_rejected():
    data = _parquet(pa.table(_columns(pa.array([12.34], pa.float64()))))
    with pytest.raises(FileRejected, match="amount must be decimal or string, not float") as info:
        internal.parse(data, "f.parquet")
    assert info.value.error.field == "amount"


def test_parquet_naive_timestamp_and_missing_columns():
    cols = _columns(pa.array(["1.00"]), pa.array([datetime(2026, 11, 2)], pa.timestamp("us")))
    with pytest.raises(FileRejected, match="without time zone"):
        internal.parse(_parquet(pa.table(cols)), "n.parquet")
    cols = _columns(pa.array(["1.00"]))
    del cols["currency"], cols["type"]
    with pytest.raises(FileRejected) as info:
        internal.parse(_parquet(pa.table(cols)), "m.parquet")
    assert "'type'" in info.value.error.message and "'currency'" in info.value.error.message


def test_truncated_parquet_is_rejected():
    data = _parquet(pa.table(_columns(pa.array(["1.00"]))))
    broken = data[:4] + data[40:]
    with pytest.raises(FileRejected):
        internal.parse(broken, "t.parquet")

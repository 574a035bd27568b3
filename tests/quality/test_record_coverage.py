"""The record check's heavy step (quality/record_coverage.py): the binary COPY reader and the bitmaps' anti join."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import psycopg
import pyarrow as pa
import pytest

from financeops_pipeline.ledger.posting import RECORD_COLUMNS
from financeops_pipeline.quality.record_coverage import copy_out_integers
from financeops_pipeline.sqlfiles import load_named_sql


def test_a_binary_copy_of_integers_is_read_whole_and_a_null_is_refused(db_url):
    with psycopg.connect(db_url) as conn:
        rows = copy_out_integers(conn, "SELECT g::int2, (g * 70000)::int4, (1::bigint << (g %% 64)) FROM"
                                 " generate_series(1, 5000) g WHERE g > %(low)s", {"low": 0},
                                 (np.int16, np.int32, np.int64))
        assert rows["v0"].tolist() == list(range(1, 5001))
        assert rows["v1"].tolist() == [g * 70000 for g in range(1, 5001)]
        assert int(rows["v2"][62]) == -(2**63)   # bit 63: a negative bigint, read as such
        assert len(copy_out_integers(conn, "SELECT 1::int2 WHERE false", {}, (np.int16,))) == 0
        with pytest.raises(ValueError, match="a NULL or a field of another width"):
            copy_out_integers(conn, "SELECT g::int2, CASE WHEN g = 3 THEN NULL ELSE 1 END::int4"
                              " FROM generate_series(1, 5) g", {}, (np.int16, np.int32))


def _bitmaps(record_nos: list[int], kind: int, file_id: int) -> list[tuple[int, int, int, int]]:
    """first_legs' rows for these record numbers, as Postgres's bit_or makes them (signed 64-bit)."""
    buckets: dict[int, int] = {}
    for n in record_nos:
        buckets[n >> 6] = buckets.get(n >> 6, 0) | 1 << (n & 63)
    return [(kind, file_id, b, bits - 2**64 if bits >= 2**63 else bits) for b, bits in sorted(buckets.items())]


def test_the_records_left_are_those_whose_bit_no_batch_set():
    con = duckdb.connect()
    typed = RECORD_COLUMNS["internal"]
    con.execute("CREATE TABLE internal_rows AS SELECT " + ", ".join(
        f"CAST(NULL AS {t}) AS {c}" for c, t in typed.items()) + ", CAST(NULL AS INTEGER) AS file_id WHERE false")
    created = dt.datetime(2026, 11, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))   # 11-03 in UTC
    for n in range(1, 201):
        con.execute("INSERT INTO internal_rows (transaction_id, created_at, type, amount_minor, currency, processor,"
                    " source_position, record_no, file_sha256, file_id) VALUES (?, ?, 'payment', 100, 'USD',"
                    " 'stripe', ?, ?, 'ab', 7)", [f"T{n}", created, f"line {n + 1}", n])
    con.execute("CREATE VIEW internal AS SELECT * FROM internal_rows")
    for source in ("processor", "bank"):
        con.execute(f"CREATE VIEW {source} AS SELECT " + ", ".join(
            f"CAST(NULL AS {t}) AS {c}" for c, t in RECORD_COLUMNS[source].items())
            + ", CAST(NULL AS INTEGER) AS file_id WHERE false")
    # two batches: the first posted every record but 63, 64, 127 and 200; the second 127 (same bucket, OR-ed)
    first = _bitmaps([n for n in range(1, 201) if n not in (63, 64, 127, 200)], 1, 7)
    second = _bitmaps([127], 1, 7) + _bitmaps([64], 2, 7) + _bitmaps([200], 1, 8)   # another kind, another file
    legs = pa.table({name: pa.array([r[i] for r in first + second], type_)
                     for i, (name, type_) in enumerate([("kind", pa.int16()), ("file_id", pa.int32()),
                                                        ("bucket", pa.int32()), ("bits", pa.int64())])})
    con.register("first_legs", legs)
    left = con.sql(load_named_sql("quality/sql/record_coverage.sql")["records_without_first_leg"]).fetchall()
    assert sorted((r[3], r[4], r[6], r[7]) for r in left) == [
        (63, "line 64", "internal:T63", dt.date(2026, 11, 3)), (64, "line 65", "internal:T64", dt.date(2026, 11, 3)),
        (200, "line 201", "internal:T200", dt.date(2026, 11, 3))]

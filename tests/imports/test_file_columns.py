"""The columns every row of a file shares, and record_no, are added per slice: the same rows as whole columns."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

from financeops_pipeline.imports.loader import _FileColumns
from financeops_pipeline.imports.record_store import write_records

DAY = dt.date(2026, 11, 2)
SHA = "ab" * 32


def _records(n: int) -> pa.Table:
    # several chunks (an empty one first), as the CSV reader hands them over
    chunks = [pa.table({"source_position": pa.array([], pa.string())})]
    chunks += [pa.table({"source_position": [f"line {i + 2}" for i in range(start, min(start + 4, n))]})
               for start in range(0, n, 4)]
    return pa.concat_tables(chunks)


def _shared() -> _FileColumns:
    return _FileColumns({"business_date": pa.scalar(DAY, pa.date32()), "file_sha256": pa.scalar(SHA, pa.string())})


def test_record_batches_number_the_records_across_slices_and_repeat_the_shared_values():
    batches = list(_shared().batches(_records(11), max_rows=3))
    assert [b.num_rows for b in batches if b.num_rows] == [3, 1, 3, 1, 3]   # slices never span its chunks
    rows = pa.Table.from_batches(batches).to_pylist()
    assert [r["record_no"] for r in rows] == list(range(1, 12))
    assert [r["source_position"] for r in rows] == [f"line {i + 2}" for i in range(11)]
    assert {(r["business_date"], r["file_sha256"]) for r in rows} == {(DAY, SHA)}
    assert batches[0].schema.field("record_no").type == pa.int32()


def test_the_record_file_is_written_by_row_groups_with_the_columns_added_to_each(tmp_path):
    path = write_records(tmp_path, "internal", SHA, _records(10), _shared().add, row_group_rows=4)
    stored = pq.ParquetFile(path)
    assert [stored.metadata.row_group(i).num_rows for i in range(stored.num_row_groups)] == [4, 4, 2]
    table = stored.read()
    assert table.column_names == ["source_position", "record_no", "business_date", "file_sha256"]
    assert table["record_no"].to_pylist() == list(range(1, 11))
    assert set(table["file_sha256"].to_pylist()) == {SHA} and set(table["business_date"].to_pylist()) == {DAY}


def test_an_empty_record_file_keeps_its_columns(tmp_path):
    table = pq.read_table(write_records(tmp_path, "bank", SHA, _records(0), _shared().add))
    assert table.num_rows == 0 and table.column_names[-3:] == ["record_no", "business_date", "file_sha256"]


def test_columns_that_need_no_change_are_not_copied():
    from financeops_pipeline.imports import columnar

    values = pa.chunked_array([["a", "", "b"], ["", "c"], []])
    nulled = columnar.empty_to_null(values)
    assert nulled.to_pylist() == ["a", None, "b", None, "c"]
    assert nulled.chunk(0).buffers()[2].address == values.chunk(0).buffers()[2].address   # the same text
    clean = pa.chunked_array([["x", "y"], ["z"]])
    assert columnar.trimmed(clean) is clean and columnar.empty_to_null(clean) is clean
    assert columnar.trimmed(pa.chunked_array([[" x", "y "]])).to_pylist() == ["x", "y"]
    assert columnar.repeats(pa.chunked_array([["a", "b"], ["c"]])).to_pylist() == [False] * 3
    assert columnar.repeats(pa.chunked_array([["a", "c"], ["b", "a"]])).to_pylist() == [False, False, False, True]

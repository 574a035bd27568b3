"""The canonical records of every imported file as Parquet, beside the content-addressed raw-file archive.

The import writes what it COPYs into Postgres once more as one Parquet file per imported file
(`<archive>/records/<source>/ab/abcdef....parquet`, by the file's SHA-256), so that the stages after it
(posting, the reconciliation's lookback window) read a day's records as a set of files in DuckDB instead of
reading them back from Postgres. Postgres stays the system of record: which files belong to a tenant-day, and
their status, come from `imports.files` (row-level security applies); the Parquet files are derived data,
written before the import's transaction commits and named by content, so a re-run rewrites the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

SOURCES = ("bank", "processor", "internal")


def records_path(archive_dir: Path, source: str, sha256: str) -> Path:
    """Where the canonical records of the file with this SHA-256 live."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    return Path(archive_dir) / "records" / source / sha256[:2] / f"{sha256}.parquet"


ROW_GROUP_ROWS = 1_000_000


def write_records(archive_dir: Path, source: str, sha256: str, table: pa.Table,
                  extend: Callable[[pa.Table, int], pa.Table] | None = None,
                  row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """Write a file's canonical records (atomically: a reader never sees half a file). `extend(rows, offset)`,
    when given, adds columns to each row group's rows (offset: the first one's index) as it is written: the
    columns every row shares are then never as long as the file."""
    target = records_path(archive_dir, source, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    options = {"compression": "zstd", "compression_level": 1}
    if extend is None:
        pq.write_table(table, tmp, row_group_size=row_group_rows, **options)
    else:
        with pq.ParquetWriter(tmp, extend(table.slice(0, 0), 0).schema, **options) as writer:
            for offset in range(0, table.num_rows, row_group_rows):
                writer.write_table(extend(table.slice(offset, row_group_rows), offset), row_group_size=row_group_rows)
    tmp.replace(target)
    return target


def day_record_paths(conn: psycopg.Connection, archive_dir: Path, tenant: str, source: str, first_day: dt.date,
                     last_day: dt.date | None = None) -> list[Path]:
    """The record files of a tenant's loaded files of one source for days first_day..last_day, in the order
    the files were imported (imports.files is read on `conn`, under row-level security). A file imported before
    the record store existed gets its record file now, from its rows in Postgres."""
    rows = conn.execute(
        "SELECT sha256, business_date FROM imports.files WHERE tenant = %s AND source = %s"
        " AND business_date BETWEEN %s AND %s AND status IN ('loaded', 'partial') AND records_loaded > 0"
        " ORDER BY business_date, imported_at, sha256",
        (tenant, source, first_day, last_day or first_day)).fetchall()
    paths = []
    for sha, day in rows:
        path = records_path(archive_dir, source, sha)
        if not path.exists():
            write_records(archive_dir, source, sha, _records_from_postgres(conn, source, sha, day))
        paths.append(path)
    return paths


def _records_from_postgres(conn: psycopg.Connection, source: str, sha256: str, day: dt.date) -> pa.Table:
    """A file's loaded records as the import wrote them, read back from its Postgres table (for files imported
    before the record store existed; migration 0026 numbered their records in source_position order)."""
    from financeops_pipeline.imports.records import SCHEMAS

    table = {"bank": "imports.bank_lines", "processor": "imports.processor_lines",
             "internal": "imports.internal_transactions"}[source]
    columns = [*SCHEMAS[source].names, *(["classification", "processor"] if source == "bank" else [])]
    cur = conn.execute(
        f"SELECT {', '.join(dict.fromkeys(columns))}, record_no, r.business_date, f.sha256 AS file_sha256"
        f" FROM {table} r JOIN imports.files f USING (tenant, file_id)"   # noqa: S608
        " WHERE r.business_date = %s AND f.sha256 = %s ORDER BY record_no", (day, sha256))
    names = [c.name for c in cur.description]
    rows = cur.fetchall()
    data = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    if "extra" in data:   # jsonb comes back parsed: keep it as the JSON text the parsers write
        import json

        data["extra"] = [None if v is None else json.dumps(v, sort_keys=True) for v in data["extra"]]
    types = {"record_no": pa.int32()}
    return pa.table({name: pa.array(values, types.get(name)) for name, values in data.items()})

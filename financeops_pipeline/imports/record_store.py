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


def write_records(archive_dir: Path, source: str, sha256: str, table: pa.Table) -> Path:
    """Write a file's canonical records (atomically: a reader never sees half a file)."""
    target = records_path(archive_dir, source, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd", compression_level=1, row_group_size=1_000_000)
    tmp.replace(target)
    return target


def day_record_paths(conn: psycopg.Connection, archive_dir: Path, tenant: str, source: str, first_day: dt.date,
                     last_day: dt.date | None = None) -> list[Path]:
    """The record files of a tenant's loaded files of one source for days first_day..last_day, in the order
    the files were imported (imports.files is read on `conn`, under row-level security)."""
    rows = conn.execute(
        "SELECT sha256 FROM imports.files WHERE tenant = %s AND source = %s AND business_date BETWEEN %s AND %s"
        " AND status IN ('loaded', 'partial') AND records_loaded > 0 ORDER BY business_date, imported_at, sha256",
        (tenant, source, first_day, last_day or first_day)).fetchall()
    paths = [records_path(archive_dir, source, sha) for (sha,) in rows]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} record file(s) of {tenant} {source} {first_day} are missing from "
                                f"the archive, e.g. {missing[0]} (imported before the record store existed?)")
    return paths

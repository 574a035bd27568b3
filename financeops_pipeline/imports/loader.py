"""Load one file into its canonical Postgres table: hash check, archive, parse, COPY, quarantine.

Idempotency is per file, not per row: a file's SHA-256 is claimed in `imports.files` in the same
transaction as its rows, so a file already imported (under any name, by any concurrent run) loads
nothing. Policy for bad records: the valid records of a file are loaded and each bad record is
quarantined with its raw text (status 'partial'); a file that cannot be read at all is 'rejected'.
A different file (new hash) under a name already imported for the same tenant, day and source is
rejected as a possible correction: replacing data silently would break the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.audit import code_version
from financeops_pipeline.db.bulk import FreshPartition, fresh_partition
from financeops_pipeline.db.connect import copy_arrow
from financeops_pipeline.errors import FileRejected, RecordError
from financeops_pipeline.imports import detect
from financeops_pipeline.imports.bankcsv import BankMapping
from financeops_pipeline.imports.normalize import classify_bank_lines
from financeops_pipeline.imports.record_store import write_records
from financeops_pipeline.imports.records import BANK_STATEMENT_SCHEMA, ParsedFile, to_table
from financeops_pipeline.sqlfiles import load_sql

T = TypeVar("T")
TableOrBatch = TypeVar("TableOrBatch", pa.Table, pa.RecordBatch)
TABLES = {
    "bank": "imports.bank_lines",
    "processor": "imports.processor_lines",
    "internal": "imports.internal_transactions",
}


@dataclass
class FileImport:
    """Outcome of importing one file, as printed by `financeops import` and recorded as metadata."""

    path: str
    sha256: str
    status: str                      # loaded | partial | rejected | already_imported
    format: str = "unknown"
    source: str = "unknown"
    records_loaded: int = 0
    errors: list[RecordError] = field(default_factory=list)
    amount_totals: dict[str, int] = field(default_factory=dict)   # currency -> minor units loaded
    timings: dict[str, float] = field(default_factory=dict)        # seconds per step (read, parse, copy, ...)

    @property
    def records_quarantined(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        name = Path(self.path).name
        if self.status == "already_imported":
            return f"{name}: already imported (sha256 {self.sha256[:12]}), nothing loaded"
        text = f"{name}: {self.format}, {self.records_loaded} loaded, {self.records_quarantined} quarantined"
        if self.errors:
            text += f"; first error: {self.errors[0]}"
        return text


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive(data: bytes, sha: str, archive_dir: Path) -> Path:
    """Content-addressed copy of the raw file: archive/ab/abcdef... (written once, never changed)."""
    target = archive_dir / sha[:2] / sha
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


@dataclass
class ReadFile:
    """A landed file read, hashed, archived and parsed: everything of its import that needs no database."""

    path: Path
    sha256: str
    size: int
    archive_path: Path
    parsed: ParsedFile
    rejected: bool
    timings: dict[str, float] = field(default_factory=dict)


def read_file(path: Path, archive_dir: Path, mappings: Sequence[BankMapping] = (),
              mapping: BankMapping | None = None) -> ReadFile:
    """Read, hash (beside the parse: hashlib releases the GIL), archive and parse one file. Never raises for bad
    input: a file no parser reads is a rejected ParsedFile."""
    started = time.perf_counter()
    data = path.read_bytes()
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_of, data)
        parse_started = time.perf_counter()
        try:
            parsed = detect.parse_file(data, path.name, mappings, mapping)
        except FileRejected as exc:
            parsed = ParsedFile(format="unknown", source="unknown", errors=[exc.error])
            rejected = True
        else:
            rejected = False
        parse_s = time.perf_counter() - parse_started
        sha = digest.result()
    # content-addressed and written once, so writing it before the transaction is idempotent
    archive_path = archive(data, sha, archive_dir)
    return ReadFile(path, sha, len(data), archive_path, parsed, rejected,
                    {"read": time.perf_counter() - started - parse_s, "parse": parse_s})


def import_file(
    conn: psycopg.Connection,
    tenant: str,
    path: Path,
    business_date: dt.date,
    run_id: str,
    archive_dir: Path,
    mappings: Sequence[BankMapping] = (),
    mapping: BankMapping | None = None,
) -> FileImport:
    """Import one file in one transaction on a tenant connection. Never raises for bad input. `mappings` are
    the bank-CSV mappings tried when no format claims the file; `mapping` forces one."""
    return load_file(conn, tenant, read_file(path, archive_dir, mappings, mapping), business_date, run_id,
                     archive_dir)


class ReadAheadBudget:
    """Bytes of parsed records not yet loaded that the read-aheads of all sources importing at once may hold.

    A read-ahead reserves its file's estimated Arrow bytes (READ_AHEAD_BYTES_PER_FILE_BYTE x its size) before it
    starts and gives them back once that file is loaded; one that does not fit is not read ahead: it is read when
    its turn comes, after the load before it. The number of files does not matter, their bytes do."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    def try_reserve(self, size: int) -> bool:
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self.held -= size


# A parsed CSV file's Arrow records are 1.1-2x its bytes (measured: internal 1.15, Stripe 1.3, Adyen 2.0).
READ_AHEAD_BYTES_PER_FILE_BYTE = 2
READ_AHEAD_BUDGET = ReadAheadBudget(int(os.environ.get("FINANCEOPS_READ_AHEAD_BYTES", 3 * 2**30)))


def import_files(conn: psycopg.Connection, tenant: str, paths: Sequence[Path], business_date: dt.date, run_id: str,
                 archive_dir: Path, mappings: Sequence[BankMapping] = (),
                 budget: ReadAheadBudget = READ_AHEAD_BUDGET) -> Iterator[FileImport]:
    """Import files one after the other, in order, each in its own transaction, reading and parsing the next
    file while the one before it loads (Arrow's kernels and the COPY release the GIL: the parse runs on the
    other core while the server ingests), when `budget` has room for its records."""
    if len(paths) <= 1:
        for path in paths:
            yield import_file(conn, tenant, path, business_date, run_id, archive_dir, mappings)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
        ahead: Future[ReadFile] | None = None
        reserved = 0
        try:
            for i, path in enumerate(paths):
                current = ahead.result() if ahead is not None else read_file(path, archive_dir, mappings)
                held, ahead, reserved = reserved, None, 0
                if i + 1 < len(paths):
                    size = READ_AHEAD_BYTES_PER_FILE_BYTE * _size(paths[i + 1])
                    if budget.try_reserve(size):
                        ahead, reserved = pool.submit(read_file, paths[i + 1], archive_dir, mappings), size
                try:
                    outcome = load_file(conn, tenant, current, business_date, run_id, archive_dir)
                finally:
                    del current
                    budget.release(held)
                yield outcome
        finally:   # a read-ahead still reserved: the consumer stopped early, or a load failed
            budget.release(reserved)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0   # read_file reports it


def load_file(conn: psycopg.Connection, tenant: str, read: ReadFile, business_date: dt.date, run_id: str,
              archive_dir: Path) -> FileImport:
    """Load a read file in one transaction on a tenant connection (the database half of `import_file`)."""
    path, sha, name, parsed, rejected = read.path, read.sha256, read.path.name, read.parsed, read.rejected
    result = FileImport(path=str(path), sha256=sha, status="loaded", format=parsed.format, source=parsed.source,
                        errors=list(parsed.errors), timings=dict(read.timings))
    started = time.perf_counter()
    with conn.transaction():
        if _already_imported(conn, tenant, sha):
            return FileImport(path=str(path), sha256=sha, status="already_imported",
                              format=parsed.format, source=parsed.source)
        table = None
        if not rejected:
            clash = conn.execute(
                "SELECT sha256 FROM imports.files WHERE tenant = %s AND business_date = %s AND source = %s"
                " AND original_name = %s AND status <> 'rejected'",
                (tenant, business_date, parsed.source, name),
            ).fetchone()
            if clash:
                rejected = True
                result.errors = [RecordError(name, "file", "-", (
                    f"a different file with this name was already imported for {business_date} "
                    f"(sha256 {clash[0][:12]}); corrections must come as new files or reversals"))]
            else:
                table = parsed.take_arrow()   # the parsed file keeps no reference: dropped once loaded
        loading = table is not None
        result.status = "rejected" if rejected else ("partial" if result.errors else "loaded")
        file_id = conn.execute(
            "INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
            " archive_path, size_bytes, status, records_loaded, records_quarantined, first_error, run_id,"
            " code_version, mapping, encoding) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            " RETURNING file_id",
            (tenant, sha, business_date, parsed.source,
             parsed.format, name, str(read.archive_path), read.size, result.status,
             table.num_rows if table is not None else 0, len(result.errors),
             str(result.errors[0]) if result.errors else None, run_id, code_version(), parsed.mapping,
             parsed.encoding),
        ).fetchone()[0]
        if table is not None and table.num_rows:
            result.records_loaded = table.num_rows
            part, totals = _copy_records(conn, tenant, business_date, sha, file_id, parsed.source, table,
                                         archive_dir, result.timings)
            # COPYed and written as Parquet: nothing reads the records any more, so they go before the server
            # indexes and attaches them (a 10M-row file's Arrow is ~1.5 GB)
            del table
            part.prepare()
            part.attach()
            result.timings.update(part.timings)
            copy_arrow(conn, "imports.file_totals", totals,
                       constants={**_stamp(tenant, business_date, sha), "source": parsed.source})
            result.amount_totals = _by_currency(totals)
        if loading and parsed.statements:
            statements = to_table(parsed.statements, BANK_STATEMENT_SCHEMA)
            copy_arrow(conn, "imports.bank_statements", statements, constants=_stamp(tenant, business_date, sha))
        if loading and parsed.source == "bank":
            supersede_unbooked_lines(conn, tenant, business_date)
        if result.errors:
            _quarantine(conn, tenant, business_date, sha, name, result.errors)
        commit_started = time.perf_counter()
    result.timings["commit"] = time.perf_counter() - commit_started
    result.timings["load"] = time.perf_counter() - started
    return result


SUPERSEDE_WINDOW_DAYS = 35   # the reconciliation's default lookback: how far apart a line and its booking may land


def supersede_unbooked_lines(conn: psycopg.Connection, tenant: str, business_date: dt.date) -> None:
    """Record which unbooked lines around the day a booked statement now supersedes (imports.bank_superseded):
    a bank file may bring either side, in either order."""
    window = dt.timedelta(days=SUPERSEDE_WINDOW_DAYS)
    first, last = business_date - window, business_date + window
    if conn.execute("SELECT 1 FROM imports.bank_lines WHERE tenant = %s AND business_date BETWEEN %s AND %s"
                    " AND NOT booked LIMIT 1", (tenant, first, last)).fetchone():
        conn.execute(load_sql("imports/sql/bank_superseded.sql"), {"tenant": tenant, "first": first, "last": last})


def _already_imported(conn: psycopg.Connection, tenant: str, sha: str) -> bool:
    # Serialises concurrent importers of the same file: the second waits, then sees the first one's row.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{tenant}:{sha}",))
    return conn.execute(
        "SELECT 1 FROM imports.files WHERE tenant = %s AND sha256 = %s", (tenant, sha)
    ).fetchone() is not None


def _stamp(tenant: str, business_date: dt.date, sha: str) -> dict[str, object]:
    """The columns every row of a file shares: set once by the INSERT, not sent with each row."""
    return {"tenant": tenant, "business_date": business_date, "file_sha256": sha}


class _FileColumns:
    """The columns of a file's loaded rows that its parser does not make, added to each slice as it is encoded or
    written: record_no (the record's ordinal among the file's loaded records, in file order: what the ledger and
    the reconciliation name a record by, beside its textual position) and the columns every row of the file shares
    (tenant, day, file hash or id). The shared ones are one repeated array of the longest slice, sliced again for
    each (never a column of the whole file's length: 10M equal file hashes alone are ~0.7 GB)."""

    def __init__(self, shared: dict[str, pa.Scalar]) -> None:
        self.shared = shared
        self._repeated: dict[str, pa.Array] = {}

    def add(self, part: TableOrBatch, offset: int) -> TableOrBatch:
        """`part` (rows offset.. of the file's loaded records) with record_no and the shared columns."""
        n = part.num_rows
        part = part.append_column("record_no", pa.array(np.arange(offset + 1, offset + n + 1, dtype=np.int32)))
        for name, value in self.shared.items():
            repeated = self._repeated.get(name)
            if repeated is None or len(repeated) < n:
                repeated = self._repeated[name] = pa.repeat(value, n)
            part = part.append_column(name, repeated.slice(0, n))
        return part

    def batches(self, table: pa.Table, max_rows: int) -> Iterator[pa.RecordBatch]:
        offset = 0
        for batch in table.to_batches(max_chunksize=max_rows):
            yield self.add(batch, offset)
            offset += batch.num_rows


def _copy_records(conn: psycopg.Connection, tenant: str, business_date: dt.date, sha: str, file_id: int,
                  source: str, table: pa.Table, archive_dir: Path, timings: dict[str, float]
                  ) -> tuple[FreshPartition, pa.Table]:
    """COPY the file's canonical records into a partition of their own and keep the same rows as Parquet
    (record_store, written on another thread while the server ingests the COPY); returns the partition, loaded
    but not yet indexed nor attached (the caller drops the records first: nothing needs them any more), and the
    file's totals (for imports.file_totals). `timings` gets the seconds of each step."""
    if source == "bank":
        table = classify_bank_lines(table)
    # the record file and the totals are computed beside the COPY (Arrow and Parquet release the GIL), not before it
    with ThreadPoolExecutor(2, thread_name_prefix="record-store") as pool:
        parquet = pool.submit(_timed, write_records, archive_dir, source, sha, table, _FileColumns({
            "business_date": pa.scalar(business_date, pa.date32()), "file_sha256": pa.scalar(sha, pa.string())}).add)
        totals = pool.submit(_timed, file_totals, source, table)
        # The file's partition: rows COPYed in record_no order (its BRIN index is built after, exact). The columns
        # every row shares (tenant, business_date, file_id) are not sent: the partition's bound pins them and
        # migration 0090 made them the fresh table's DEFAULTs, so the server fills them in (its bounds CHECK still
        # evaluates every row) instead of decoding three more fields per row.
        part = fresh_partition(conn, TABLES[source], [business_date, tenant, file_id],
                               [business_date, tenant, file_id + 1])
        # (a processor line's `extra` goes as the parser's JSON text, into a text column: migration 0095)
        part.copy(_FileColumns({}).batches(table, COPY_BATCH_ROWS))
        waited = time.perf_counter()
        timings["parquet"] = parquet.result()[1]
        file_totals_table, timings["totals"] = totals.result()
        timings["parquet_wait"] = time.perf_counter() - waited
    return part, file_totals_table


COPY_BATCH_ROWS = 100_000   # rows per record batch pgpq encodes (and per shared-column slice)


def _timed(function: Callable[..., T], *args: object) -> tuple[T, float]:
    started = time.perf_counter()
    return function(*args), time.perf_counter() - started


# What a file's totals are grouped by and summed, per source (the same figures the posting rules read: a
# standalone processor fee line posts its -net as the fee).
_KIND = {"internal": "type", "processor": "category", "bank": "classification"}
_AMOUNT = {"internal": "amount_minor", "processor": "gross_minor", "bank": "amount_minor"}


def file_totals(source: str, table: pa.Table) -> pa.Table:
    """Records, amount, |amount|, fee and net of a file's loaded rows by processor, kind and currency."""
    amount = table[_AMOUNT[source]]
    zero = pa.repeat(pa.scalar(0, pa.int64()), table.num_rows)
    if source == "processor":
        fee = pc.if_else(pc.equal(table["category"], "fee"), pc.negate(table["net_minor"]), table["fee_minor"])
        net = table["net_minor"]
    else:
        fee = net = zero
    rows = pa.table({"processor": pc.fill_null(table["processor"], ""), "kind": table[_KIND[source]],
                     "currency": table["currency"], "amount_minor": amount, "abs_amount_minor": pc.abs(amount),
                     "fee_minor": fee, "net_minor": net})
    keys = ["processor", "kind", "currency"]
    grouped = rows.group_by(keys, use_threads=False).aggregate(
        [("amount_minor", "count"), *((c, "sum") for c in ("amount_minor", "abs_amount_minor", "fee_minor",
                                                           "net_minor"))])
    return pa.table({**{k: grouped[k] for k in keys}, "records": grouped["amount_minor_count"],
                     **{c: grouped[f"{c}_sum"] for c in ("amount_minor", "abs_amount_minor", "fee_minor",
                                                         "net_minor")}}).sort_by([(k, "ascending") for k in keys])


def _by_currency(totals: pa.Table) -> dict[str, int]:
    grouped = totals.group_by("currency").aggregate([("amount_minor", "sum")])
    return dict(zip(grouped["currency"].to_pylist(), grouped["amount_minor_sum"].to_pylist(), strict=True))


def _quarantine(conn: psycopg.Connection, tenant: str, business_date: dt.date, sha: str, name: str,
                errors: list[RecordError]) -> None:
    unique = {(e.position, e.field): e for e in reversed(errors)}   # one row per record and field
    rows = [{"tenant": tenant, "business_date": business_date, "file_sha256": sha, "file_name": name,
             "position": e.position, "field": e.field, "message": e.message, "raw_text": e.raw}
            for e in reversed(unique.values())]
    copy_arrow(conn, "imports.quarantine", pa.Table.from_pylist(rows))

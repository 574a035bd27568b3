"""Bulk writes into fresh partitions (migration 0018): create a table for one partition, COPY into it, index it,
check it and attach it, all in the caller's transaction.

    with conn.transaction():
        part = fresh_partition(conn, "imports.internal_transactions", ["2026-11-02", "acme", "17"],
                               ["2026-11-02", "acme", "18"])
        part.copy(arrow_table)          # binary COPY ... FREEZE: no WAL under wal_level=minimal
        part.prepare()                  # the parent's indexes, built once after the load; ANALYZE
        part.attach()                   # the parent's checker (ops.bulk_parents), then ATTACH PARTITION

The table is created by a SECURITY DEFINER function for the session's tenant (a tenant connection: SET ROLE), with
the parent's columns and CHECK constraints and one more that pins the tenant and the partition bound: COPY refuses
another tenant's row, and ATTACH skips its validation scan. The tenant may only INSERT into it until it is
attached; after that it is read through the parent and its row-level security.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa
from psycopg import sql

from financeops_pipeline.db.connect import encoder_for, write_binary_copy


@dataclass
class FreshPartition:
    """A fresh table of the open transaction, on its way to become one partition of its parent."""

    conn: psycopg.Connection
    table: str                                   # schema-qualified name (schema `load` until attached)
    timings: dict[str, float] = field(default_factory=dict)   # seconds per step, for the benchmark's profile

    def copy(self, rows: pa.Table | Iterable[pa.RecordBatch], jsonb_columns: Sequence[str] = ()) -> int:
        """COPY Arrow rows (a table, or record batches as they are produced) into the table, binary, FREEZE.

        The columns are the Arrow column names. pgpq encodes each record batch in Rust (no per-row Python); the
        rows are written frozen, so nothing later rewrites them to set hint bits or freeze them."""
        batches: Iterator[pa.RecordBatch] = iter(rows.to_batches(max_chunksize=100_000)
                                                 if isinstance(rows, pa.Table) else rows)
        started = time.perf_counter()
        first = next(batches, None)
        if first is None:
            return 0
        encoder = encoder_for(first.schema, jsonb_columns)
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in first.schema.names)
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY, FREEZE)").format(sql.SQL(self.table),
                                                                                          columns)
        with self.conn.cursor().copy(statement) as copy:
            loaded = write_binary_copy(copy, encoder, _chain(first, batches))
        self.timings["copy"] = self.timings.get("copy", 0.0) + time.perf_counter() - started
        return loaded

    def prepare(self) -> None:
        """Build the parent's indexes on the loaded rows and take statistics."""
        started = time.perf_counter()
        self.conn.execute("SELECT ops.prepare_load_table(%s::regclass)", (self.table,))
        self.timings["index"] = time.perf_counter() - started

    def attach(self) -> str | None:
        """Check (the parent's checker) and attach; the partition's name, or None when the checker left nothing
        to attach (the table is dropped)."""
        started = time.perf_counter()
        leaf = self.conn.execute("SELECT ops.attach_load_table(%s::regclass)::text", (self.table,)).fetchone()[0]
        self.timings["check_attach"] = time.perf_counter() - started
        return leaf


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def fresh_partition(conn: psycopg.Connection, parent: str, bound_from: Sequence[object],
                    bound_to: Sequence[object] | None = None) -> FreshPartition:
    """A fresh table for the partition FOR VALUES FROM (bound_from) TO (bound_to) of `parent` (a RANGE parent: every
    key column equal in both but the last), or IN (bound_from[0]) of a one-column LIST parent (bound_to None), for
    the session's tenant. `parent` must be registered in ops.bulk_parents. Call it inside a transaction: the
    table, its rows and its attachment commit or roll back together."""
    if conn.autocommit:
        raise RuntimeError("fresh_partition needs a transaction (the table lives and dies with it): not autocommit")
    table = conn.execute(
        "SELECT ops.create_load_table(%s::regclass, %s::text[], %s::text[])::text",
        (parent, [str(v) for v in bound_from], None if bound_to is None else [str(v) for v in bound_to]),
    ).fetchone()[0]
    return FreshPartition(conn, table)

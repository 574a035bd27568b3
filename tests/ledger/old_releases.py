"""What the upgrade tests share: a day batch written as an earlier release wrote it, up to its transfer rows."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa

from financeops_pipeline.ledger.posting import fresh_partition, key_slice


def old_batch_with_keys(conn: psycopg.Connection, day: dt.date, keys: list[str], key_date: dt.date
                        ) -> tuple[int, list[int], list]:
    """A day batch row and its keys' fresh registry partitions, every key column sent (as before 0090's pinned
    defaults); returns the batch id, its entry ids and the key partitions, to attach after the transfers."""
    batch = conn.execute("SELECT nextval('ledger.batch_id_seq')").fetchone()[0]
    entries = [batch * 2**32 + n for n in range(1, len(keys) + 1)]
    conn.execute("INSERT INTO ledger.posting_batches (batch_id, tenant, business_date, kind, entries, transfers,"
                 " rule_version, run_id, code_version) VALUES (%s, 'acme', %s, 'day', %s, %s, 'v1', 'old-run',"
                 " 'old-code')", (batch, day, len(keys), len(keys)))
    parts = []
    for k_slice in sorted({key_slice(k) for k in keys}):
        mine = [(k, e) for k, e in zip(keys, entries, strict=True) if key_slice(k) == k_slice]
        part = fresh_partition(conn, "ledger.entry_keys", ["acme", key_date, k_slice], ["acme", key_date, k_slice + 1])
        part.copy(pa.table({"tenant": ["acme"] * len(mine), "key_date": pa.array([key_date] * len(mine), pa.date32()),
                            "key_slice": pa.array([k_slice] * len(mine), pa.int16()),
                            "idempotency_key": [k for k, _ in mine], "entry_id": [e for _, e in mine]}))
        part.prepare()
        parts.append(part)
    return batch, entries, parts

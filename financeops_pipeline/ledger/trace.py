"""The audit trail, both ways: from a posting to its source record, from a source record to its postings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from financeops_pipeline.sqlfiles import load_named_sql


@dataclass
class TracedEntry:
    entry: dict[str, Any]
    postings: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] | None = None


def trace(conn: psycopg.Connection, tenant: str, reference: str) -> list[TracedEntry]:
    """Every journal entry reached from `reference`, with its postings and the record it came from."""
    queries = load_named_sql("ledger/sql/trace.sql")

    def rows(name: str, **params: Any) -> list[dict[str, Any]]:
        cur = conn.execute(queries[name], params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    traced = []
    for entry in rows("entries_for_ref", tenant=tenant, ref=reference):
        item = TracedEntry(entry=entry, postings=rows("postings", tenant=tenant, entry_id=entry["entry_id"]))
        if entry["source_file_sha256"]:
            found = rows("source_record", tenant=tenant, sha=entry["source_file_sha256"],
                         pos=entry["source_position"])
            item.source = found[0] if found else None
        traced.append(item)
    conn.rollback()
    return traced

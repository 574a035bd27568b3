"""People's resolutions as the reconciliation reads them: Arrow tables of the tenant's effective manual matches,
accepted breaks and rejected suggestions (NOTES.md contract 3; applied by reconciliation/sql/apply_resolutions.sql)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
import pyarrow as pa

from financeops_pipeline.sqlfiles import load_named_sql

MANUAL_MATCHES = pa.schema([
    ("resolution_id", pa.int64()), ("match_group", pa.string()), ("rule", pa.string()), ("source", pa.string()),
    ("source_ref", pa.string()), ("currency", pa.string()), ("amount_minor", pa.int64()),
    ("effective_from", pa.date32()),
])
ACCEPTED_BREAKS = pa.schema([
    ("resolution_id", pa.int64()), ("break_id", pa.string()), ("reason", pa.string()), ("until", pa.date32()),
    ("effective_from", pa.date32()), ("fingerprint", pa.string()),
])
REJECTED_SUGGESTIONS = pa.schema([
    ("resolution_id", pa.int64()), ("match_group", pa.string()), ("source", pa.string()),
    ("source_ref", pa.string()), ("effective_from", pa.date32()),
])
SCHEMAS = {"manual_matches": MANUAL_MATCHES, "accepted_breaks": ACCEPTED_BREAKS,
           "rejected_suggestions": REJECTED_SUGGESTIONS}


@dataclass(frozen=True)
class Resolutions:
    manual_matches: pa.Table
    accepted_breaks: pa.Table
    rejected_suggestions: pa.Table

    @classmethod
    def none(cls) -> Resolutions:
        return cls(**{name: schema.empty_table() for name, schema in SCHEMAS.items()})

    def tables(self) -> dict[str, pa.Table]:
        """The tables by the names apply_resolutions.sql reads."""
        return {name: getattr(self, name) for name in SCHEMAS}


def fingerprint(items: list[dict]) -> str:
    """The items of a break as apply_resolutions.sql fingerprints them (ordered by source, reference)."""
    return ";".join(f"{i['source']}|{i['source_ref']}|{i['currency'].strip()}|{int(i['amount_minor'])}"
                    for i in sorted(items, key=lambda i: (i["source"], i["source_ref"])))


def load_resolutions(conn: psycopg.Connection, tenant: str, day: dt.date) -> Resolutions:
    """The tenant's resolutions in force on the day, read on the tenant's connection (a few rows each)."""
    queries = load_named_sql("workbench/sql/resolutions.sql")
    tables = {}
    for name, schema in SCHEMAS.items():
        cur = conn.execute(queries[name], (tenant, day))
        names = [c.name for c in cur.description]
        tables[name] = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in cur.fetchall()], schema=schema)
    return Resolutions(**tables)

"""Run a named quality query for a tenant-day: no rows means the check passes."""

from __future__ import annotations

import datetime as dt

import psycopg

from financeops_pipeline.sqlfiles import load_sql

CHECKS = {
    "ledger_balanced": "Postings of every currency sum to zero.",
    "snapshots_match_postings": "Each account's balance snapshot equals the sum of its postings.",
    "statement_integrity": "Opening + entries = closing, and each opening = the previous closing.",
    "quarantined_records": "No record of the day was quarantined.",
    "recon_conservation": "Every item and minor unit of the day is matched, explained, pending or a break.",
}


def run_check(conn: psycopg.Connection, name: str, tenant: str, day: dt.date) -> list[dict]:
    """Violations found by the check (empty list = pass)."""
    cur = conn.execute(load_sql(f"quality/sql/{name}.sql"), {"tenant": tenant, "day": day})
    columns = [d.name for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    conn.rollback()
    return rows

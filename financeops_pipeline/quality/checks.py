"""Run a named quality query for a tenant-day: no rows means the check passes."""

from __future__ import annotations

import datetime as dt
import re

import psycopg

from financeops_pipeline.sqlfiles import load_sql

CHECKS = {
    "ledger_balanced": "Postings of every currency sum to zero.",
    "snapshots_match_postings": "Each account's balance snapshot equals the sum of its postings.",
    "statement_integrity": "Opening + entries = closing, and each opening = the previous closing (error); every "
                           "booked statement gives its balances (warn when one is missing or was derived).",
    "quarantined_records": "No record of the day was quarantined.",
    "recon_conservation": "Every item and minor unit of the day is matched, explained, pending or a break.",
    "cash_matches_bank": "Ledger cash per bank account moves as the bank statements do (closing - opening), "
                         "for the day and since the first statement.",
    "no_duplicate_idempotency_keys": "No idempotency key stands for two different money movements.",
    "source_records_posted": "Every loaded source record of the day has the journal entry it requires "
                             "(or is a known duplicate of a posted record).",
}


def check_sql(name: str) -> str:
    """The check's query, with each `-- include: FILE` line replaced by that file of quality/sql (shared CTEs)."""
    return re.sub(r"^-- include: (\S+)$", lambda m: load_sql(f"quality/sql/{m.group(1)}").rstrip(),
                  load_sql(f"quality/sql/{name}.sql"), flags=re.MULTILINE)


def run_check(conn: psycopg.Connection, name: str, tenant: str, day: dt.date, **params: object) -> list[dict]:
    """Violations found by the check (empty list = pass); `params` fill the query's other placeholders."""
    # The ledger checks hash and aggregate the day's records (millions): in memory, not in spilled batches.
    conn.execute("SET LOCAL work_mem = '256MB'")
    cur = conn.execute(check_sql(name), {"tenant": tenant, "day": day, "source": None, **params})
    columns = [d.name for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    conn.rollback()
    return rows

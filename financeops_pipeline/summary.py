"""The short figures printed after a run: imported, posted, matched / breaks, report totals."""

from __future__ import annotations

import datetime as dt

import psycopg

from financeops_pipeline.imports.record_store import rows_in_postgres
from financeops_pipeline.money import format_minor
from financeops_pipeline.sqlfiles import load_sql


def day_summary(conn: psycopg.Connection, tenant: str, day: dt.date) -> list[str]:
    """Human lines for one tenant-day, read back from the database (what was stored, not what was meant)."""
    cur = conn.execute(load_sql("reports/sql/day_summary.sql"), {"tenant": tenant, "day": day})
    row = dict(zip([d.name for d in cur.description], cur.fetchone(), strict=True))
    for source in ("internal", "processor", "bank"):   # what the COPYs loaded, counted where another write went
        row[f"{source}_rows"] = rows_in_postgres(conn, tenant, source, day, day)
    totals = conn.execute(
        "SELECT currency, sum(debit_minor), sum(credit_minor) FROM reports.trial_balance"
        " WHERE tenant = %s AND business_date = %s GROUP BY currency ORDER BY currency", (tenant, day)).fetchall()
    conn.rollback()
    tb = "; ".join(f"{c} debits {format_minor(d, c)} = credits {format_minor(k, c)}" for c, d, k in totals)
    return [
        f"{tenant} {day}: imported {row['internal_rows']} internal, {row['processor_rows']} processor, "
        f"{row['bank_rows']} bank records ({row['quarantined']} quarantined)",
        f"  ledger: {row['entries']} journal entries, {row['postings']} postings",
        f"  reconciliation: {row['matched']} matched, {row['explained']} explained, {row['pending']} pending, "
        f"{row['open_breaks']} open breaks ({row['new_breaks']} new)",
        f"  trial balance: {tb or 'empty'}",
    ]

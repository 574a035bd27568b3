"""Reports for any period, computed on request from the balance snapshots (the stored income statement has the
day and the month to date; `financeops report income-statement --from D0 --date D` gives any range)."""

from __future__ import annotations

import datetime as dt

import psycopg

from financeops_pipeline.reports.catalog import Column, Section
from financeops_pipeline.sqlfiles import load_sql

PERIOD_SECTION = Section(
    "income_statement_period", "Income statement for the period",
    (Column("period_start", "date"), Column("period_end", "date"), Column("section"), Column("account_code"),
     Column("account_name"), Column("currency"), Column("period_minor", "money")),
    "currency, section, account_code",
)


def income_statement_for_period(conn: psycopg.Connection, tenant: str, start: dt.date, end: dt.date) -> list[dict]:
    """Revenue, expenses and net income per currency of the days start..end (inclusive)."""
    if start > end:
        raise ValueError(f"--from {start} is after --date {end}")
    cur = conn.execute(load_sql("reports/sql/income_statement_period.sql"),
                       {"tenant": tenant, "start": start, "day": end})
    columns = [d.name for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    conn.rollback()
    return rows

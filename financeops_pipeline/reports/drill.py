"""Drill-down: the postings behind a report line (account, day) and the source records they came from."""

from __future__ import annotations

import datetime as dt

import psycopg

from financeops_pipeline.reports.catalog import Column, Section
from financeops_pipeline.sqlfiles import load_sql

DRILL_SECTION = Section(
    "postings", "Postings behind the line",
    (Column("business_date", "date"), Column("entry_id", "int"), Column("line_no", "int"), Column("account_code"),
     Column("currency"), Column("amount_minor", "money"), Column("rule_id"), Column("idempotency_key"),
     Column("source_kind"), Column("source_file"), Column("source_position"), Column("source_ref"),
     Column("source_record")),
    "business_date, entry_id, line_no",
)


def postings_behind(conn: psycopg.Connection, tenant: str, account: str, day: dt.date,
                    currency: str | None = None, since: dt.date | None = None) -> list[dict]:
    """Postings of `account` (optionally one currency) dated in [since, day] with their journal entry and source
    record. With since=None they are every posting behind the account's balance at the day: their sum equals
    the trial-balance / balance-sheet line. With since=day they are the day's movement (income statement)."""
    cur = conn.execute(load_sql("reports/sql/drill_postings.sql"),
                       {"tenant": tenant, "account": account, "currency": currency, "since": since, "day": day})
    columns = [d.name for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    conn.rollback()
    return rows

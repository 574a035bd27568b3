"""Drill-down: the postings behind a report line (account, day) and the source records they came from."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import psycopg

from financeops_pipeline.reports.catalog import Column, Section
from financeops_pipeline.sqlfiles import load_named_sql, load_sql

DRILL_SECTION = Section(
    "postings", "Postings behind the line",
    (Column("business_date", "date"), Column("entry_id", "int"), Column("line_no", "int"), Column("account_code"),
     Column("currency"), Column("amount_minor", "money"), Column("rule_id"), Column("idempotency_key"),
     Column("source_kind"), Column("source_file"), Column("source_position"), Column("source_ref"),
     Column("source_record")),
    "business_date, entry_id, line_no",
)


# The imports table of each journal-entry source_kind (payouts post from processor lines).
SOURCE_TABLE_QUERY = {"internal": "internal", "processor": "processor", "payout": "processor", "bank": "bank"}


def postings_behind(conn: psycopg.Connection, tenant: str, account: str, day: dt.date,
                    currency: str | None = None, since: dt.date | None = None) -> list[dict]:
    """Postings of `account` (optionally one currency) dated in [since, day] with their journal entry and source
    record. With since=None they are every posting behind the account's balance at the day: their sum equals
    the trial-balance / balance-sheet line. With since=day they are the day's movement (income statement)."""
    cur = conn.execute(load_sql("reports/sql/drill_postings.sql"),
                       {"tenant": tenant, "account": account, "currency": currency, "since": since, "day": day})
    columns = [d.name for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    # step 2: the source records, one query per imports table and file day (pruned to that day's partition)
    wanted: dict[tuple[str, dt.date], set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        kind = SOURCE_TABLE_QUERY.get(r["source_kind"])
        if kind and r["source_file_date"] is not None and r["source_position"] is not None:
            wanted[(kind, r["source_file_date"])].add((r["source_file_sha256"], r["source_position"]))
    records: dict[tuple[str, str, str], str] = {}
    queries = load_named_sql("reports/sql/drill_source_records.sql")
    for (kind, file_day), keys in wanted.items():
        shas, positions = zip(*sorted(keys), strict=True)
        for sha, position, record in conn.execute(queries[kind], {"tenant": tenant, "day": file_day,
                                                                  "shas": list(shas), "positions": list(positions)}):
            records[(kind, sha, position)] = record
    conn.rollback()
    for r in rows:
        key = (SOURCE_TABLE_QUERY.get(r["source_kind"]), r.pop("source_file_sha256"), r["source_position"])
        r.pop("source_file_date")
        r["source_record"] = records.get(key)
    return rows

"""Bulk posting of one tenant-day: events -> staged legs -> balanced entries, in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg import sql

from financeops_pipeline.audit import code_version
from financeops_pipeline.ledger.rules import RuleBook, describe_account, load_rules
from financeops_pipeline.sqlfiles import load_named_sql, load_sql

_STAGING = """
CREATE TEMP TABLE staged_legs (
    idempotency_key text, line_no smallint, account_code text, currency char(3), amount_minor bigint,
    rule_id text, description text, source_kind text, source_file_sha256 text, source_position text,
    source_ref text
) ON COMMIT DROP
"""


@dataclass
class PostingResult:
    """What one posting batch did."""

    events: int
    entries_posted: int
    postings_posted: int
    entries_already_posted: int


def _legs_values(book: RuleBook) -> sql.Composable:
    rows = [
        sql.SQL("({}, {}, {}, {}, {})").format(
            sql.Literal(rule.rule_id), sql.Literal(i), sql.Literal(leg.account), sql.Literal(leg.sign),
            sql.Literal(leg.amount),
        )
        for rule in book.rules.values()
        for i, leg in enumerate(rule.legs, start=1)
    ]
    return sql.SQL(", ").join(rows)


def stage_legs_query(book: RuleBook) -> sql.Composed:
    """INSERT INTO staged_legs: every event joined to the legs of its rule, with concrete accounts."""
    return sql.SQL(
        "INSERT INTO staged_legs "
        # A record delivered twice (same idempotency key) is posted once; reconciliation reports the duplicate.
        "WITH events AS (SELECT DISTINCT ON (idempotency_key) * FROM ({events}) e"
        "                ORDER BY idempotency_key, file_sha256, source_position) "
        "SELECT e.idempotency_key, l.line_no, "
        "       replace(replace(l.account, '{{processor}}', coalesce(e.processor, 'unknown')),"
        "               '{{bank_account}}', coalesce(e.bank_account, 'unknown')),"
        "       e.currency, l.sign * e.amount_minor, e.event_type, e.description, e.source_kind,"
        "       e.file_sha256, e.source_position, e.source_ref "
        "FROM events e JOIN (VALUES {legs}) AS l(rule_id, line_no, account, sign, amount_column) "
        "  ON l.rule_id = e.event_type "
        "WHERE e.amount_minor <> 0"
    ).format(events=sql.SQL(load_sql("ledger/sql/posting_events.sql")), legs=_legs_values(book))


def post_day(conn: psycopg.Connection, tenant: str, day: dt.date, run_id: str) -> PostingResult:
    """Post every event of a tenant-day not yet posted. Re-running posts nothing twice."""
    book = load_rules()
    params = {"tenant": tenant, "day": day, "run_id": run_id, "code_version": code_version(),
              "rule_version": book.version}
    with conn.transaction():
        # Serialises concurrent runs of the same tenant-day; the unique key would stop doubles anyway.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"post:{tenant}:{day}",))
        conn.execute("SET LOCAL work_mem = '256MB'")   # bulk hashing and sorting stay in memory
        conn.execute(_STAGING)
        conn.execute(stage_legs_query(book), params)
        conn.execute("ANALYZE staged_legs")   # temp tables have no statistics until analysed: without them
        #                                       the joins below are planned as nested loops
        events = conn.execute("SELECT count(DISTINCT idempotency_key) FROM staged_legs").fetchone()[0]
        codes = [r[0] for r in conn.execute("SELECT DISTINCT account_code FROM staged_legs").fetchall()]
        accounts = [describe_account(c) for c in codes]
        conn.cursor().executemany(
            "INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(tenant, a.code, a.name, a.type, a.normal) for a in accounts],
        )
        statements = load_named_sql("ledger/sql/post_staged.sql")
        conn.execute(statements["stage_entries"], params)
        conn.execute("ANALYZE staged_entries")
        entries = conn.execute(statements["insert_entries"], params).rowcount
        postings = conn.execute(statements["insert_postings"], params).rowcount
    return PostingResult(events=events, entries_posted=entries, postings_posted=postings,
                         entries_already_posted=events - entries)

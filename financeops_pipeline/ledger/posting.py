"""Bulk posting of one tenant-day: events -> staged entries -> balanced entries and postings, one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg import sql

from financeops_pipeline.audit import code_version
from financeops_pipeline.ledger.rules import RuleBook, describe_account, load_rules
from financeops_pipeline.sqlfiles import load_named_sql, load_sql


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


def _statements(book: RuleBook) -> dict[str, sql.Composed]:
    """post_staged.sql's statements with the day's events query and the rule book's legs composed in."""
    parts = {"events": sql.SQL(load_sql("ledger/sql/posting_events.sql")), "legs": _legs_values(book)}
    return {name: sql.SQL(text).format(**{k: v for k, v in parts.items() if "{" + k + "}" in text})
            for name, text in load_named_sql("ledger/sql/post_staged.sql").items()}


def post_day(conn: psycopg.Connection, tenant: str, day: dt.date, run_id: str) -> PostingResult:
    """Post every event of a tenant-day not yet posted. Re-running posts nothing twice.

    The batch is its own transaction: the ledger refuses lines added to an entry from an earlier transaction
    (by the entry's xmin), and inside a caller's open transaction the batch would be a savepoint with an xid
    of its own, refused with that misleading reason. So an open transaction is refused here, saying why.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError(f"post_day({tenant}, {day}) needs a connection with no open transaction: a posting batch "
                           "is one transaction of its own (commit or roll back first)")
    book = load_rules()
    params = {"tenant": tenant, "day": day, "run_id": run_id, "code_version": code_version(),
              "rule_version": book.version}
    with conn.transaction():
        # Serialises concurrent runs of the same tenant-day; the unique key would stop doubles anyway.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"post:{tenant}:{day}",))
        conn.execute("SET LOCAL work_mem = '256MB'")   # bulk hashing and sorting stay in memory
        statements = _statements(book)
        events = conn.execute(statements["stage_events"], params).rowcount
        conn.execute("ANALYZE staged_events")   # temp tables have no statistics until analysed: without them
        #                                          the joins below are planned as nested loops
        codes = [r[0] for r in conn.execute(statements["staged_accounts"]).fetchall()]
        conn.cursor().executemany(
            "INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(tenant, a.code, a.name, a.type, a.normal) for a in map(describe_account, codes)],
        )
        entries = conn.execute(statements["insert_entries"], params).rowcount
        postings = conn.execute(statements["insert_postings"], params).rowcount
    return PostingResult(events=events, entries_posted=entries, postings_posted=postings,
                         entries_already_posted=events - entries)

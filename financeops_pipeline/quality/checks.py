"""Run a named quality query for a tenant-day: no rows means the check passes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

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
_INCLUDE = re.compile(r"^-- include: (\S+)$", re.MULTILINE)
_COMMENT_LINE = re.compile(r"^\s*--.*\n", re.MULTILINE)


def check_sql(name: str, materialized: Sequence[str] = ()) -> str:
    """The check's query, with each `-- include: FILE` line replaced by that file of quality/sql (shared CTEs);
    an include named in `materialized` is dropped instead: its CTE is a temporary table of that name already."""
    return _INCLUDE.sub(lambda m: "" if m.group(1) in materialized
                        else load_sql(f"quality/sql/{m.group(1)}").rstrip(),
                        load_sql(f"quality/sql/{name}.sql"))


def shared_includes(names: Sequence[str]) -> list[str]:
    """The `-- include:` files that more than one of these checks' queries use."""
    used = [f for name in names for f in dict.fromkeys(_INCLUDE.findall(load_sql(f"quality/sql/{name}.sql")))]
    return [f for f in dict.fromkeys(used) if used.count(f) > 1]


def _settings(conn: psycopg.Connection) -> None:
    # The ledger checks aggregate the day's transfers (millions) and, on a day posted before migration 0091, anti
    # join its records with them by text position: in memory, not in spilled batches. Hash, not merge: the planner
    # prices a hash anti join's buckets as if the records had 200 positions, and sorts both sides instead.
    conn.execute("SET LOCAL work_mem = '256MB'")
    conn.execute("SET LOCAL enable_mergejoin = off")


def run_check(conn: psycopg.Connection, name: str, tenant: str, day: dt.date, *, archive_dir: Path | None = None,
              connect: Callable[[], AbstractContextManager[psycopg.Connection]] | None = None,
              **params: object) -> list[dict]:
    """Violations found by the check (empty list = pass); `params` fill the query's other placeholders."""
    return run_checks(conn, [name], tenant, day, archive_dir=archive_dir, connect=connect, **params)[name]


RECORD_CHECK_INCLUDE = "records_not_posted_from_themselves.sql"   # reads record_coverage's temporary table


def run_checks(conn: psycopg.Connection, names: Sequence[str], tenant: str, day: dt.date, *,
               archive_dir: Path | None = None,
               connect: Callable[[], AbstractContextManager[psycopg.Connection]] | None = None,
               **params: object) -> dict[str, list[dict]]:
    """Several checks of one tenant-day on one session: a CTE that two of them include is computed once, into a
    temporary table of its name (dropped with the transaction), which each of their queries then reads. The
    ledger's record check first finds the records that posted no transfer of their own (record_coverage.py): from
    the day's record files under `archive_dir` (or from Postgres without one), the first legs streamed on
    sessions of `connect` (tenant sessions) when given."""
    values = {"tenant": tenant, "day": day, "source": None, **params}
    _settings(conn)
    if any(RECORD_CHECK_INCLUDE in _INCLUDE.findall(load_sql(f"quality/sql/{name}.sql")) for name in names):
        from financeops_pipeline.quality.record_coverage import load_records_without_first_leg

        load_records_without_first_leg(conn, tenant, day, archive_dir, connect)
    shared = shared_includes(names)
    for include in shared:
        stem = include.removesuffix(".sql")
        conn.execute(f"CREATE TEMP TABLE {stem} ON COMMIT DROP AS "   # noqa: S608 - a file name of quality/sql
                     f"{load_sql(f'quality/sql/{include}').rstrip()}\nSELECT * FROM {stem}", values)
    found = {}
    for name in names:
        # whole-line comments out: a placeholder named in one would be a parameter of no type once the query
        # that typed it is a temporary table
        cur = conn.execute(_COMMENT_LINE.sub("", check_sql(name, shared)), values)
        columns = [d.name for d in cur.description]
        found[name] = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    conn.rollback()
    return found

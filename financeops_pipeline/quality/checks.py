"""Run a named quality query for a tenant-day: no rows means the check passes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
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


def _includes(text: str) -> list[str]:
    return list(dict.fromkeys(_INCLUDE.findall(text)))


def _with_includes(text: str, materialized: Sequence[str] = ()) -> str:
    """`text` with its `-- include: FILE` lines (and theirs, in turn) as CTEs named after the files of quality/sql,
    each before the ones that use it; an include named in `materialized` is left out (with what only it uses): its
    CTE is a temporary table of that name already."""
    ordered: list[str] = []

    def visit(include: str) -> None:
        if include in materialized or include in ordered:
            return
        for inner in _includes(load_sql(f"quality/sql/{include}")):
            visit(inner)
        ordered.append(include)

    for include in _includes(text):
        visit(include)
    body = _INCLUDE.sub("", text)
    if not ordered:
        return body
    ctes = ",\n".join(f"{include.removesuffix('.sql')} AS (\n"
                       f"{_INCLUDE.sub('', load_sql(f'quality/sql/{include}')).rstrip()}\n)" for include in ordered)
    own = _COMMENT_LINE.sub("", body).lstrip()
    if own[:5].upper() == "WITH ":   # the query's own CTEs follow the included ones
        return f"WITH {ctes},\n{own[5:]}"
    return f"WITH {ctes}\n{body}"


def check_sql(name: str, materialized: Sequence[str] = ()) -> str:
    """The check's query, each `-- include: FILE` line (a file of quality/sql holding one query, which may include
    others) a CTE of the file's name; an include named in `materialized` is dropped instead: its CTE is a temporary
    table of that name already."""
    return _with_includes(load_sql(f"quality/sql/{name}.sql"), materialized)


def _uses(text: str) -> list[str]:
    """Every include of `text`, its own and theirs."""
    found: list[str] = []
    for include in _includes(text):
        for inner in [*_uses(load_sql(f"quality/sql/{include}")), include]:
            if inner not in found:
                found.append(inner)
    return found


def shared_includes(names: Sequence[str]) -> list[str]:
    """The `-- include:` files (own or of an include) that more than one of these checks' queries use, each after
    the ones it uses."""
    used = [f for name in names for f in _uses(load_sql(f"quality/sql/{name}.sql"))]
    return [f for f in dict.fromkeys(used) if used.count(f) > 1]


def _settings(conn: psycopg.Connection) -> None:
    # The ledger checks hash and join the day's records (millions): in memory, not in spilled batches. Hash, not
    # merge: the planner has no statistics for a UNION's columns, prices a hash anti join's buckets as if the
    # day's records had 200 positions, and sorts both sides of a 10M-record day instead.
    conn.execute("SET LOCAL work_mem = '256MB'")
    conn.execute("SET LOCAL enable_mergejoin = off")


def run_check(conn: psycopg.Connection, name: str, tenant: str, day: dt.date, archive_dir: Path | None = None,
              **params: object) -> list[dict]:
    """Violations found by the check (empty list = pass); `params` fill the query's other placeholders."""
    return run_checks(conn, [name], tenant, day, archive_dir, **params)[name]


def run_checks(conn: psycopg.Connection, names: Sequence[str], tenant: str, day: dt.date,
               archive_dir: Path | None = None, **params: object) -> dict[str, list[dict]]:
    """Several checks of one tenant-day on one session: a CTE that two of them include is computed once, into a
    temporary table of its name (dropped with the transaction), which each of their queries then reads. With
    `archive_dir` (the record files), an include that has a builder (BUILDERS) is built by it instead, when it can
    (else by its SQL)."""
    values = {"tenant": tenant, "day": day, "source": None, **params}
    _settings(conn)
    used = [f for name in names for f in _uses(load_sql(f"quality/sql/{name}.sql"))]
    built = [f for f in dict.fromkeys(used) if archive_dir is not None and f in BUILDERS]
    materialized: list[str] = []
    for include in dict.fromkeys(used):
        if include in built and BUILDERS[include](conn, archive_dir, tenant, day):
            materialized.append(include)
        elif include in built or include in shared_includes(names):
            stem = include.removesuffix(".sql")
            text = _COMMENT_LINE.sub("", _with_includes(load_sql(f"quality/sql/{include}"), materialized))
            conn.execute(f"CREATE TEMP TABLE {stem} ON COMMIT DROP AS {text}", values)   # noqa: S608 - a file name
            materialized.append(include)
    found = {}
    for name in names:
        # whole-line comments out: a placeholder named in one would be a parameter of no type once the query
        # that typed it is a temporary table
        cur = conn.execute(_COMMENT_LINE.sub("", check_sql(name, materialized)), values)
        columns = [d.name for d in cur.description]
        found[name] = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    conn.rollback()
    return found


def _build_payouts_to_look_up(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date) -> bool:
    from financeops_pipeline.quality.records_posted import build_payouts_to_look_up

    return build_payouts_to_look_up(conn, archive_dir, tenant, day)


# includes that Python can build as their temporary table (True when built, False: their SQL must run instead)
BUILDERS: dict[str, Callable[[psycopg.Connection, Path, str, dt.date], bool]] = {
    "payouts_to_look_up.sql": _build_payouts_to_look_up,
}

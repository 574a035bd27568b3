"""Great Expectations suites for the imported, normalized records: one suite per imports table.

Each suite is a plain list of expectations (`Expect`, in GX 1.x terms) built by a function below, so a data
engineer extends a suite by adding a line. On a small day the suite runs in GX on a pandas frame of the
partition's rows, read as the tenant's role; GX is imported lazily (the import costs ~4 s), only when such a
check runs, and anonymous usage statistics are switched off. On a day of more than GX_MAX_ROWS records (all
sources) the same expectations run as SQL, so a 10M-record day is never pulled into Python: in DuckDB over the
import's Parquet record files (`validate_records`, imports/record_store.py) when Postgres holds exactly as many
rows of the partition as those files, else in Postgres (`validate_sql`: one scan for every row-wise expectation,
a hash aggregate per uniqueness one). All three forms give the same failures (tested).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import psycopg
import pyarrow as pa

from financeops_pipeline.imports.record_store import SOURCE_TABLES
from financeops_pipeline.imports.records import PROCESSORS
from financeops_pipeline.money import CURRENCY_EXPONENTS

ISO_4217 = sorted(CURRENCY_EXPONENTS)
# Largest single amount a record may carry: 10^12 minor units (10 billion in a 2-decimal currency).
MAX_ABS_MINOR = 10**12

# Columns each suite reads, per imports table.
COLUMNS = {
    "internal_transactions": "transaction_id, created_at, type, amount_minor, currency::text AS currency, processor,"
                             " processor_reference, business_date, file_id, record_no, source_position",
    "processor_lines": "processor, line_id, category, currency::text AS currency, gross_minor, fee_minor, net_minor,"
                       " created_at, business_date, file_id, record_no, source_position",
    "bank_lines": "account_id, currency::text AS currency, amount_minor, booking_date, classification,"
                  " business_date, file_id, record_no, source_position",
}
SOURCE_TABLE = SOURCE_TABLES   # the imports table of each source


@dataclass(frozen=True)
class Expect:
    """One expectation of a suite, in GX 1.x terms (`kind` is the class in great_expectations.expectations),
    so that the same line runs as a GX expectation on a pandas frame and as SQL in Postgres (`sql_suite`)."""

    kind: str
    column: str | None = None
    columns: tuple[str, ...] = ()                  # ExpectCompoundColumnsToBeUnique
    value_set: tuple[object, ...] | None = None    # ExpectColumnValuesToBeInSet
    min_value: object = None                       # ExpectColumnValuesToBeBetween (inclusive)
    max_value: object = None

    def gx(self, gxe):
        kwargs: dict[str, object] = {"column": self.column} if self.column else {"column_list": list(self.columns)}
        if self.value_set is not None:
            kwargs["value_set"] = list(self.value_set)
        if self.kind == "ExpectColumnValuesToBeBetween":
            kwargs.update(min_value=_gx_value(self.min_value), max_value=_gx_value(self.max_value))
        return getattr(gxe, self.kind)(**kwargs)

    @property
    def type(self) -> str:
        """The GX name of the expectation's type ('expect_column_values_to_be_in_set')."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in self.kind).lstrip("_")


def internal_transactions_suite(start: dt.date, end: dt.date) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToNotBeNull", "transaction_id"),
        Expect("ExpectColumnValuesToBeUnique", "transaction_id"),
        Expect("ExpectColumnValuesToNotBeNull", "processor_reference"),
        Expect("ExpectColumnValuesToBeInSet", "type", value_set=("payment", "refund", "chargeback")),
        Expect("ExpectColumnValuesToBeInSet", "processor", value_set=PROCESSORS),
        Expect("ExpectColumnValuesToBeInSet", "currency", value_set=tuple(ISO_4217)),
        Expect("ExpectColumnValuesToBeBetween", "amount_minor", min_value=1, max_value=MAX_ABS_MINOR),
        *_in_partition(start, end),
    ]


def processor_lines_suite(start: dt.date, end: dt.date) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToNotBeNull", "line_id"),
        # The record key. Not line_id: a line the processor delivers twice is loaded twice on purpose, posted
        # once (idempotency key) and reported by the reconciliation as a `duplicate` break.
        Expect("ExpectCompoundColumnsToBeUnique", columns=("file_id", "record_no")),
        Expect("ExpectColumnValuesToBeInSet", "processor", value_set=PROCESSORS),
        Expect("ExpectColumnValuesToBeInSet", "category", value_set=(
            "charge", "refund", "dispute", "fee", "payout", "adjustment", "other")),
        Expect("ExpectColumnValuesToBeInSet", "currency", value_set=tuple(ISO_4217)),
        Expect("ExpectColumnValuesToBeBetween", "gross_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        Expect("ExpectColumnValuesToBeBetween", "net_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        # A fee is at most the size of the line it is charged on (a dispute fee can exceed a small charge,
        # so the bound is absolute, not relative).
        Expect("ExpectColumnValuesToBeBetween", "fee_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        *_in_partition(start, end),
    ]


def bank_lines_suite(start: dt.date, end: dt.date) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToNotBeNull", "account_id"),
        Expect("ExpectCompoundColumnsToBeUnique", columns=("file_id", "record_no")),
        Expect("ExpectColumnValuesToBeInSet", "currency", value_set=tuple(ISO_4217)),
        Expect("ExpectColumnValuesToBeInSet", "classification", value_set=("payout", "fee", "interest", "other")),
        Expect("ExpectColumnValuesToBeBetween", "amount_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        # A statement line books at most a week before the day it lands (weekends, bank holidays).
        Expect("ExpectColumnValuesToBeBetween", "booking_date", min_value=start - dt.timedelta(days=7),
               max_value=end),
        *_in_partition(start, end),
    ]


SUITES = {"internal_transactions": internal_transactions_suite, "processor_lines": processor_lines_suite,
          "bank_lines": bank_lines_suite}


def _gx_value(value: object) -> object:
    """Dates as the pandas Timestamps of the frame's date columns (read_frame); other bounds as they are."""
    if isinstance(value, dt.date):
        import pandas as pd

        return pd.Timestamp(value)
    return value


def _in_partition(start: dt.date, end: dt.date) -> list[Expect]:
    """business_date within the partition [start, end] (end inclusive: the last day of the run)."""
    return [Expect("ExpectColumnValuesToNotBeNull", "business_date"),
            Expect("ExpectColumnValuesToBeBetween", "business_date", min_value=start, max_value=end)]


@dataclass
class SuiteOutcome:
    table: str
    rows: int
    evaluated: int = 0
    failures: list[dict] = field(default_factory=list)   # expectation, column, unexpected_count, sample

    @property
    def success(self) -> bool:
        return not self.failures


def read_frame(conn: psycopg.Connection, table: str, tenant: str, start: dt.date, end: dt.date):
    import pandas as pd

    cur = conn.execute(f"SELECT {COLUMNS[table]} FROM imports.{table}"   # noqa: S608 - fixed table names
                       " WHERE tenant = %s AND business_date BETWEEN %s AND %s", (tenant, start, end))
    columns = [d.name for d in cur.description]
    frame = pd.DataFrame(cur.fetchall(), columns=columns)
    conn.rollback()
    for c in ("business_date", "booking_date"):
        if c in frame:
            frame[c] = pd.to_datetime(frame[c])
    for c in ("amount_minor", "gross_minor", "fee_minor", "net_minor"):
        if c in frame:
            frame[c] = frame[c].astype("int64")
    return frame


@cache
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context, context.data_sources.add_pandas("financeops_imports")


def validate(frame, table: str, start: dt.date, end: dt.date) -> SuiteOutcome:
    """Run the table's suite on a frame; failures name the expectation, column, count and sample values."""
    outcome = SuiteOutcome(table=table, rows=len(frame))
    if frame.empty:
        return outcome
    with _GX_LOCK:   # one ephemeral GX context for the process: checks evaluated on threads take turns in it
        return _validate_gx(frame, table, start, end, outcome)


_GX_LOCK = threading.Lock()


def _validate_gx(frame, table: str, start: dt.date, end: dt.date, outcome: SuiteOutcome) -> SuiteOutcome:
    gx, context, source = _context()
    import great_expectations.expectations as gxe

    asset_name = f"{table}_{start}_{end}"
    try:
        batch = (source.add_dataframe_asset(name=asset_name).add_batch_definition_whole_dataframe("all")
                 .get_batch(batch_parameters={"dataframe": frame}))
        suite = gx.ExpectationSuite(name=f"{table}_suite",
                                    expectations=[e.gx(gxe) for e in SUITES[table](start, end)])
        result = batch.validate(suite)
    finally:
        source.delete_asset(asset_name)
    outcome.evaluated = len(result.results)
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        detail = r.result or {}
        kwargs = config.kwargs
        outcome.failures.append({
            "expectation": config.type,
            "column": kwargs.get("column") or ",".join(kwargs.get("column_list") or []),
            "unexpected_count": int(detail.get("unexpected_count") or 0),
            "sample": ", ".join(map(_short, (detail.get("partial_unexpected_list") or [])[:5])),
            "error": (r.exception_info or {}).get("exception_message") if r.exception_info else None,
        })
    return outcome


def _short(value: object) -> str:
    text = value.date().isoformat() if hasattr(value, "date") and hasattr(value, "hour") else str(value)
    return text[:60]


# ------------------------------------------------------------------------------------------ at scale: SQL
# Above this many records in the day (all sources) every suite runs as SQL in Postgres instead of GX on pandas: the
# frame would hold every row of the day in Python (10M records: minutes to fetch, gigabytes to hold), where one scan
# of the day's partitions counts every expectation's unexpected rows at once. GX keeps what it gives on small days
# (its own result objects and messages); both give the same failures (tested).
GX_MAX_ROWS = 200_000
_SQL_COLUMN = {"currency": "currency::text"}   # char(3) compared as text, as read_frame reads it


def check_suite(conn: psycopg.Connection, table: str, tenant: str, start: dt.date, end: dt.date,
                archive_dir: Path | None = None) -> SuiteOutcome:
    """The table's suite on a tenant's rows of days start..end: GX on a frame for a small day, else SQL (in DuckDB
    over the record files of `archive_dir` when they hold the partition's rows, else in Postgres). The day's size
    is its records of every source: the two bank lines of a 1M-record day are checked as SQL too, where GX would
    cost its ~4 s import (the Dagster step's, beside the other suites) for two rows."""
    rows = conn.execute("SELECT coalesce(sum(records_loaded), 0) FROM imports.files WHERE tenant = %s"
                        " AND source = ANY (%s) AND business_date BETWEEN %s AND %s",
                        (tenant, list(SOURCE_TABLE), start, end)).fetchone()[0]
    conn.rollback()
    if rows <= GX_MAX_ROWS:
        return validate(read_frame(conn, table, tenant, start, end), table, start, end)
    if archive_dir is not None and (outcome := validate_records(conn, archive_dir, table, tenant, start, end)):
        return outcome
    return validate_sql(conn, table, tenant, start, end)


def validate_sql(conn: psycopg.Connection, table: str, tenant: str, start: dt.date, end: dt.date,
                 one_scan: bool = True) -> SuiteOutcome:
    """The table's suite as SQL: one hash aggregate per uniqueness expectation counts the rows whose key repeats,
    one scan the unexpected rows of every row-wise expectation (folded into the aggregate when the suite has one
    uniqueness expectation, as every suite here: one scan of the day on a clean day; `one_scan=False` keeps
    them apart, for comparison); samples only for what failed."""
    suite = SUITES[table](start, end)
    where = f"FROM imports.{table} WHERE tenant = %(tenant)s AND business_date BETWEEN %(start)s AND %(end)s"
    params: dict[str, object] = {"tenant": tenant, "start": start, "end": end}
    predicates: dict[int, str] = {}
    for i, e in enumerate(suite):
        column = _SQL_COLUMN.get(e.column or "", e.column)
        if e.kind == "ExpectColumnValuesToNotBeNull":
            predicates[i] = f"{column} IS NULL"
        elif e.kind == "ExpectColumnValuesToBeInSet":
            params[f"set{i}"] = list(e.value_set or ())
            predicates[i] = f"NOT ({column} = ANY (%(set{i})s))"   # null: not unexpected, as in GX
        elif e.kind == "ExpectColumnValuesToBeBetween":
            params[f"min{i}"], params[f"max{i}"] = e.min_value, e.max_value
            predicates[i] = f"({column} < %(min{i})s OR {column} > %(max{i})s)"
        elif e.kind not in ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"):
            raise ValueError(f"{e.kind} has no SQL form here: add one to validate_sql")
    counts = ", ".join(f"count(*) FILTER (WHERE {p})" for p in predicates.values())
    unique = [i for i in range(len(suite)) if i not in predicates]
    with conn.transaction():
        conn.execute("SET LOCAL work_mem = '512MB'")   # the uniqueness hash aggregates stay in memory
        # One process: the planner cannot know the keys' hash has 10M values (it assumes 200), plans partial
        # aggregates in parallel workers and a Gather Merge sorting their 10M groups (the 10M day's import_checks
        # took 62 s so, on a loaded machine; 17.5 s serial before RLS could go parallel, migration 0085).
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        found: dict[int, int] = {}
        if len(unique) == 1 and one_scan:
            # One scan on a clean day: the uniqueness hash aggregate also counts the rows any row-wise
            # expectation refuses; only when some are, a second scan tells which.
            total, bad, found[unique[0]] = _repeated_rows(conn, suite[unique[0]], where, params,
                                                          " OR ".join(predicates.values()) or "false")
            unexpected = [0] * len(predicates)
            if bad:
                _, *unexpected = conn.execute(f"SELECT count(*), {counts} {where}", params).fetchone()   # noqa: S608
        else:
            total, *unexpected = conn.execute(f"SELECT count(*), {counts} {where}", params).fetchone()   # noqa: S608
            for i in unique:
                found[i] = _repeated_rows(conn, suite[i], where, params, "false")[2]
        found.update(zip(predicates, unexpected, strict=True))
        outcome = SuiteOutcome(table=table, rows=total, evaluated=len(suite))
        for i, e in enumerate(suite):
            if found[i]:
                outcome.failures.append({"expectation": e.type, "column": e.column or ",".join(e.columns),
                                         "unexpected_count": int(found[i]),
                                         "sample": ", ".join(_sample(conn, e, predicates.get(i), where, params)),
                                         "error": None})
    conn.rollback()
    return outcome


def _repeated_rows(conn: psycopg.Connection, e: Expect, where: str, params: dict[str, object], bad: str
                   ) -> tuple[int, int, int]:
    """(rows, rows where `bad`, rows whose key (not null) another row of the day has). The day's keys are first
    grouped by a 64-bit hash (an integer hash aggregate: 10M wide text keys would be sorted or hashed as text);
    only the rows of hashes seen twice, none on a clean day, are then compared by their keys themselves."""
    keys = ", ".join(e.columns or (e.column,))   # type: ignore[arg-type]
    hashed = f"hashtextextended(({keys})::text, 0)"
    # sum(count) is numeric in Postgres (a Decimal in Python, which Dagster's metadata refuses): cast to bigint
    rows, bad_rows, twice = conn.execute(
        f"SELECT coalesce(sum(n), 0)::bigint, coalesce(sum(bad), 0)::bigint,"   # noqa: S608
        f" array_agg(h) FILTER (WHERE n > 1 AND h IS NOT NULL)"
        f" FROM (SELECT CASE WHEN ({keys}) IS NOT NULL THEN {hashed} END AS h, count(*) AS n,"
        f" count(*) FILTER (WHERE {bad}) AS bad {where} GROUP BY 1) g", params).fetchone()
    if not twice:
        return rows, bad_rows, 0
    repeated = conn.execute(f"SELECT coalesce(sum(n), 0)::bigint FROM (SELECT count(*) AS n {where}"   # noqa: S608
                            f" AND ({keys}) IS NOT NULL"
                            f" AND {hashed} = ANY (%(twice)s) GROUP BY {keys} HAVING count(*) > 1) d",
                            {**params, "twice": twice}).fetchone()[0]
    return rows, bad_rows, repeated


def _sample(conn: psycopg.Connection, e: Expect, predicate: str | None, where: str, params: dict[str, object]
            ) -> list[str]:
    """Up to five unexpected values (of a uniqueness expectation: rows whose key repeats)."""
    if predicate is not None:
        values = conn.execute(f"SELECT ({e.column})::text {where} AND {predicate} LIMIT 5", params)   # noqa: S608
    else:
        keys = ", ".join(e.columns or (e.column,))   # type: ignore[arg-type]
        rows = conn.execute(f"SELECT {keys} {where} AND ({keys}) IN (SELECT {keys} {where}"   # noqa: S608
                            f" GROUP BY {keys} HAVING count(*) > 1 LIMIT 5) LIMIT 5", params).fetchall()
        # GX lists a compound key as the dict of its columns
        return [_short(dict(zip(e.columns, row, strict=True)) if e.columns else row[0]) for row in rows]
    return [_short(v) for (v,) in values.fetchall()]


# ------------------------------------------------------------------------ at scale: DuckDB over the record files
# The import writes every loaded file's records once more as Parquet (imports/record_store.py), from the Arrow table
# it COPYs. Checked there, a 10M day's suites take DuckDB a second or two on two cores, where Postgres takes tens of
# seconds (one process: see validate_sql). The files stand for the partition only while Postgres holds as many of
# its rows as they do (a row added or removed behind the import's back, as the tests plant them, sends the suite
# to Postgres): counted there on a day that something other than a file's load wrote to (migration 0098), else
# what the files' COPYs loaded.
def validate_records(conn: psycopg.Connection, archive_dir: Path, table: str, tenant: str, start: dt.date,
                     end: dt.date) -> SuiteOutcome | None:
    """The table's suite in DuckDB over the partition's record files; None when they are not the partition's rows
    (no files, or another row count than Postgres has)."""
    import duckdb

    from financeops_pipeline.duckdb_memory import default_memory_limit
    from financeops_pipeline.imports.record_store import records_view, rows_in_postgres

    source = next(s for s, t in SOURCE_TABLES.items() if t == table)
    columns = [c.split(" AS ")[-1].strip() for c in COLUMNS[table].split(",")]
    con = duckdb.connect(config={"threads": 2, "memory_limit": default_memory_limit()})
    try:
        in_files = records_view(con, conn, archive_dir, tenant, source, "records", columns, start, end)
        if in_files is None:
            return None
        in_postgres = rows_in_postgres(conn, tenant, source, start, end)
        conn.rollback()
        if in_files != in_postgres:
            return None
        return validate_duckdb(con, "records", table, start, end)
    finally:
        con.close()


def _literal(value: object) -> str:
    """A suite's bound or set member as a DuckDB literal (values of the code's suites: text, integers, dates)."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"no literal for {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def validate_duckdb(con, relation: str, table: str, start: dt.date, end: dt.date) -> SuiteOutcome:
    """The table's suite as DuckDB SQL over `relation` (the partition's rows, with COLUMNS' names): one scan counts
    every row-wise expectation's unexpected rows, one hash aggregate per uniqueness expectation its repeated keys;
    samples only for what failed."""
    suite = SUITES[table](start, end)
    predicates: dict[int, str] = {}
    for i, e in enumerate(suite):
        column = f'"{e.column}"'
        if e.kind == "ExpectColumnValuesToNotBeNull":
            predicates[i] = f"{column} IS NULL"
        elif e.kind == "ExpectColumnValuesToBeInSet":   # null: not unexpected, as in GX
            # IN a subquery, a hash semi join: IN a list of 180 currencies compares each row with each (40x slower)
            predicates[i] = f"NOT ({column} IN (SELECT unnest([{', '.join(map(_literal, e.value_set or ()))}])))"
        elif e.kind == "ExpectColumnValuesToBeBetween":
            predicates[i] = f"({column} < {_literal(e.min_value)} OR {column} > {_literal(e.max_value)})"
        elif e.kind not in ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"):
            raise ValueError(f"{e.kind} has no SQL form here: add one to validate_duckdb")
    counts = ", ".join(f"count(*) FILTER (WHERE {p})" for p in predicates.values())
    total, *unexpected = con.execute(f"SELECT count(*), {counts} FROM {relation}").fetchall()[0]
    found = dict(zip(predicates, unexpected, strict=True))
    for i in (i for i in range(len(suite)) if i not in predicates):
        keys = ", ".join(f'"{c}"' for c in suite[i].columns or (suite[i].column,))
        present = " AND ".join(f'"{c}" IS NOT NULL' for c in suite[i].columns or (suite[i].column,))
        # keys grouped by their 64-bit hash first (twice as fast as by 10M text keys); only the rows of a hash seen
        # twice, none on a clean day, are then grouped by the keys themselves
        twice = [h for (h,) in con.execute(f"SELECT hash({keys}) FROM {relation} WHERE {present}"
                                           " GROUP BY 1 HAVING count(*) > 1").fetchall()]
        found[i] = 0
        if twice:
            con.register("_twice", pa.table({"h": pa.array(twice, pa.uint64())}))
            found[i] = con.execute(
                f"SELECT coalesce(sum(n), 0)::BIGINT FROM (SELECT count(*) AS n FROM {relation} WHERE {present}"
                f" AND hash({keys}) IN (SELECT h FROM _twice) GROUP BY {keys} HAVING count(*) > 1)").fetchall()[0][0]
            con.unregister("_twice")
    outcome = SuiteOutcome(table=table, rows=int(total), evaluated=len(suite))
    for i, e in enumerate(suite):
        if not found[i]:
            continue
        if i in predicates:
            rows = con.execute(f'SELECT CAST("{e.column}" AS VARCHAR) FROM {relation} WHERE {predicates[i]}'
                               " LIMIT 5").fetchall()
            sample = [_short(v) for (v,) in rows]
        else:
            names = list(e.columns or (e.column,))
            keys = ", ".join(f'"{c}"' for c in names)
            rows = con.execute(f"SELECT {keys} FROM {relation} JOIN (SELECT {keys} FROM {relation} GROUP BY {keys}"
                               f" HAVING count(*) > 1 LIMIT 5) USING ({keys}) LIMIT 5").fetchall()
            # GX lists a compound key as the dict of its columns
            sample = [_short(dict(zip(names, row, strict=True)) if e.columns else row[0]) for row in rows]
        outcome.failures.append({"expectation": e.type, "column": e.column or ",".join(e.columns),
                                 "unexpected_count": int(found[i]), "sample": ", ".join(sample), "error": None})
    return outcome

"""Run the three-way match for one tenant-day: Postgres -> Arrow (ADBC) -> DuckDB SQL -> COPY back.

`reconcile` is pure (Arrow in, Arrow out) so it is tested and benchmarked without a database;
`reconcile_day` wires it to Postgres and replaces that tenant-day's results in one transaction.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.audit import code_version
from financeops_pipeline.db.connect import copy_arrow, copy_into_day, fetch_arrow
from financeops_pipeline.reconciliation.config import ReconConfig, load_recon_config
from financeops_pipeline.sqlfiles import load_named_sql, load_sql
from financeops_pipeline.workbench.daylock import day_locked
from financeops_pipeline.workbench.resolutions import Resolutions, load_resolutions

PREV_BREAKS_SCHEMA = pa.schema([
    ("break_id", pa.string()), ("break_type", pa.string()), ("source", pa.string()),
    ("source_ref", pa.string()), ("currency", pa.string()), ("amount_minor", pa.int64()),
    ("first_seen", pa.date32()), ("details", pa.string()),
])


@dataclass
class ReconInputs:
    internal: pa.Table
    processor: pa.Table
    bank: pa.Table
    prev_breaks: pa.Table
    # People's resolutions from the workbench (manual matches, accepted breaks, rejected suggestions)
    resolutions: Resolutions = field(default_factory=Resolutions.none)


@dataclass
class ReconResult:
    # Every item of the window the day tracks, with one state: the day's items, earlier ones still pending or
    # in a break, and earlier ones matched today. A matched item carries its match group and match day, so
    # the day's matches are these rows (recon.matches is a view of them).
    item_status: pa.Table
    breaks: pa.Table        # breaks of the day with lifecycle new / persisting / resolved

    def counts(self) -> dict[str, int]:
        """Items per state, of the day's own items and the earlier ones still open, as the reports count
        them: an earlier item matched today is one of today's matches, not one of today's matched items (the
        same rule as the view recon.day_item_states, which the reports read)."""
        states = self.item_status
        carried = pc.fill_null(pc.less(states["item_date"], states["matched_on"]), False)
        statuses = states.filter(pc.invert(carried)).group_by("status").aggregate([("status", "count")]).to_pylist()
        return {r["status"]: r["status_count"] for r in statuses}


def reconcile(inputs: ReconInputs, day: dt.date, config: ReconConfig) -> ReconResult:
    """Match everything in DuckDB; no Python loop touches a row. Past its memory limit DuckDB spills to a
    temporary folder of its own, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="financeops-recon-spill-") as spill:
        con = duckdb.connect(config={"threads": 2, "memory_limit": config.memory_limit, "temp_directory": spill})
        try:
            return _match(con, inputs, day, config)
        finally:
            con.close()


def _match(con: duckdb.DuckDBPyConnection, inputs: ReconInputs, day: dt.date, config: ReconConfig) -> ReconResult:
    """The match itself, on an open connection: register the inputs, run the SQL, read the results."""
    con.register("internal_src", inputs.internal)
    con.register("processor_src", inputs.processor)
    con.register("bank_src", inputs.bank)
    con.register("prev_breaks", inputs.prev_breaks)
    con.register("windows", pa.Table.from_pylist(
        [{"processor": p, **w} for p, w in config.windows.items()]))
    con.execute("CREATE TEMP TABLE params AS SELECT $day::DATE AS day, $bu::INTEGER AS bank_unmatched_days",
                {"day": day, "bu": config.bank_unmatched_days})
    con.execute(load_sql("reconciliation/sql/match.sql"))
    for name, table in inputs.resolutions.tables().items():
        con.register(name, table)
    con.execute(load_sql("reconciliation/sql/apply_resolutions.sql"))
    con.execute(load_sql("reconciliation/sql/breaks.sql"))
    item_status = con.sql(
        "SELECT source, source_ref, currency, amount_minor::BIGINT AS amount_minor, item_date, status, break_id,"
        " break_type, rule, CAST(details AS VARCHAR) AS details, match_group,"
        " CASE WHEN status = 'matched' THEN matched_on END AS matched_on FROM item_status"
        " WHERE item_date = $day OR status IN ('pending', 'break') OR (status = 'matched' AND matched_on = $day)"
        # an earlier item that stays open but accepted (or written off) by a person: kept, with its break id
        " OR rule IN ('accepted', 'written_off')",
        params={"day": day},
    ).to_arrow_table()
    breaks = con.sql(
        "SELECT break_id, break_type, source, source_ref, currency, amount_minor::BIGINT AS amount_minor,"
        " first_seen,"
        " CAST($day::DATE - first_seen AS INTEGER) AS age_days, lifecycle, CAST(details AS VARCHAR) AS details"
        " FROM day_breaks", params={"day": day}).to_arrow_table()
    return ReconResult(item_status=item_status, breaks=breaks)


def load_inputs(conninfo: str, tenant: str, day: dt.date, config: ReconConfig) -> ReconInputs:
    """Bring the lookback window of every source from Postgres as Arrow, as the tenant's role.

    The queries run at once on connections of their own: each is one backend scanning and encoding on one
    core, and the ADBC fetch releases the GIL, so the internal and processor reads overlap on two cores.
    """
    queries = load_named_sql("reconciliation/sql/inputs.sql")
    params = (tenant, day - dt.timedelta(days=config.lookback_days), day)
    with ThreadPoolExecutor(max_workers=len(queries), thread_name_prefix="recon-load") as pool:
        futures = {name: pool.submit(fetch_arrow, conninfo, tenant, sql, params) for name, sql in queries.items()}
        tables = {name: future.result() for name, future in futures.items()}
    return ReconInputs(internal=tables["internal"], processor=tables["processor"], bank=tables["bank"],
                       prev_breaks=tables["prev_breaks"].cast(PREV_BREAKS_SCHEMA),
                       resolutions=load_resolutions(conninfo, tenant, day))


def write_results(conn: psycopg.Connection, tenant: str, day: dt.date, result: ReconResult, run_id: str) -> bool:
    """Replace the tenant-day's results in one transaction (derived data: re-running gives the same rows).

    A signed-off day is locked: its results stay as they were signed off and nothing is written (False)."""
    day_columns = {"tenant": tenant, "business_date": day}
    with conn.transaction():
        if day_locked(conn, tenant, day):
            return False
        for table in ("recon.item_status", "recon.breaks", "recon.runs"):
            conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND business_date = %s", (tenant, day))
        copy_into_day(conn, "recon.item_status", day, result.item_status, ("details",), day_columns)
        copy_arrow(conn, "recon.breaks", result.breaks, ("details",), day_columns)
        conn.execute("INSERT INTO recon.runs (tenant, business_date, run_id, code_version) VALUES (%s, %s, %s, %s)",
                     (tenant, day, run_id, code_version()))
    return True


def reconcile_day(conninfo: str, conn: psycopg.Connection, tenant: str, day: dt.date, run_id: str,
                  config: ReconConfig | None = None) -> ReconResult:
    """Load, match and write back one tenant-day."""
    config = config or load_recon_config()
    result = reconcile(load_inputs(conninfo, tenant, day, config), day, config)
    write_results(conn, tenant, day, result, run_id)
    return result

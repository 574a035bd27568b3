"""Try a rule change before using it (issue 15, part 6): re-run the match of stored days with other rules,
write nothing, and say per day what would change against the stored results.

For each day: the inputs as the day's reconciliation reads them (record files, the previous day's stored open
breaks, people's resolutions), matched with the given rules in memory (engine.reconcile), compared in DuckDB
with the stored item states (Parquet, or Postgres for days stored before): matches gained and lost, breaks opened
and closed, matches whose rule changed, and the adjusting entries the new rules would post.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa

from financeops_pipeline.reconciliation.config import ReconConfig
from financeops_pipeline.reconciliation.engine import load_inputs, reconcile, stored_item_status

_COMPARE = """
-- (a record delivered twice under its own id is two items of one ref: paired in a fixed order, k)
WITH o AS (SELECT source, source_ref, status, break_id, break_type, rule,
                  row_number() OVER (PARTITION BY source, source_ref ORDER BY status, break_type, rule) AS k
           FROM old_states),
     n AS (SELECT source, source_ref, status, break_id, break_type, rule,
                  row_number() OVER (PARTITION BY source, source_ref ORDER BY status, break_type, rule) AS k
           FROM new_states),
     j AS (SELECT coalesce(n.source, o.source) AS source, coalesce(n.source_ref, o.source_ref) AS source_ref,
                  o.status AS old_status, n.status AS new_status, o.rule AS old_rule, n.rule AS new_rule,
                  o.break_type AS old_break, n.break_type AS new_break
           FROM n FULL JOIN o USING (source, source_ref, k))
SELECT CASE WHEN new_status = 'matched' AND old_status IS DISTINCT FROM 'matched' THEN 'match_gained'
            WHEN old_status = 'matched' AND new_status IS DISTINCT FROM 'matched' THEN 'match_lost'
            WHEN old_status = 'matched' AND old_rule IS DISTINCT FROM new_rule THEN 'rule_changed'
            WHEN new_status IN ('break', 'suggested') AND old_status IS DISTINCT FROM new_status
                THEN 'now_' || new_status
            ELSE 'state_changed'
       END AS change, source, source_ref, old_status, new_status, old_rule, new_rule, old_break, new_break
FROM j
WHERE old_status IS DISTINCT FROM new_status OR old_rule IS DISTINCT FROM new_rule
ORDER BY change, source, source_ref
"""
_BREAKS = """
SELECT count(*) FILTER (WHERE o.break_id IS NULL) AS opened, count(*) FILTER (WHERE n.break_id IS NULL) AS closed
FROM (SELECT DISTINCT break_id FROM new_states WHERE status = 'break') n
FULL JOIN (SELECT DISTINCT break_id FROM old_states WHERE status = 'break') o USING (break_id)
"""


@dataclass
class DayPreview:
    day: dt.date
    stored: bool                       # the day had stored results to compare with
    matches_gained: int = 0
    matches_lost: int = 0
    breaks_opened: int = 0
    breaks_closed: int = 0
    rule_changed: int = 0
    adjustments: int = 0               # adjusting entries the rules would post for the day's matches
    changes: list[dict] = field(default_factory=list)   # one row per item whose state or rule would change


def preview_day(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date,
                config: ReconConfig) -> DayPreview:
    """The day re-matched with `config`'s rules against its stored results; nothing is written."""
    result = reconcile(load_inputs(conn, archive_dir, tenant, day, config), day, config)
    with conn.transaction():
        stored = conn.execute("SELECT 1 FROM recon.runs WHERE tenant = %s AND business_date = %s",
                              (tenant, day)).fetchone() is not None
        old = stored_item_status(conn, archive_dir, tenant, day) if stored else result.item_status.schema.empty_table()
    if old.num_rows == 0:
        old = result.item_status.schema.empty_table()
    con = duckdb.connect()
    try:
        con.register("new_states", result.item_status)
        con.register("old_states", _with_columns(old, result.item_status.schema))
        changes = con.sql(_COMPARE).to_arrow_table().to_pylist()
        opened, closed = con.execute(_BREAKS).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    count = {k: sum(1 for c in changes if c["change"] == k) for k in ("match_gained", "match_lost", "rule_changed")}
    return DayPreview(day=day, stored=stored, matches_gained=count["match_gained"],
                      matches_lost=count["match_lost"], breaks_opened=opened, breaks_closed=closed,
                      rule_changed=count["rule_changed"],
                      adjustments=result.adjustments.num_rows if result.adjustments is not None else 0,
                      changes=changes)


def _with_columns(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Stored states of days written before a column existed (rule_version): the missing columns as nulls."""
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.nulls(table.num_rows, f.type))
    return table

"""Where a tenant-day's reconciliation results live.

Postgres (the system of record for what people query): the breaks of the day, the item states that are not
plain matches (pending, suggested, explained, break, and matches with a difference), and the day's totals by
source, currency, state and scope. Parquet, beside the raw-file archive: every item state of the day, matched
ones included, which `read_states` gives for `trace`, the rule preview and anything that needs one matched item:
`<archive>/recon/<tenant>/<day>.parquet` the states as item rows, except the plain 1:1 matches by processor
reference, which `<day>.pairs.parquet` holds one row per pair (PAIRS_SCHEMA; expand_pairs gives their two item
rows). A 10M-transaction day has ~20M item states, almost all such matches: writing them to Postgres cost 43 s,
as item rows in Parquet 7 s, as pairs about a second.

Scopes of a day's states (the totals keep them apart): `day` the items of the day itself; `carried_open`
earlier items still open (pending, suggested, break); `carried_matched` earlier items matched that day (the
day's matches, not the day's matched items).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from financeops_pipeline.landing import validate_tenant


def states_path(archive_dir: Path, tenant: str, day: dt.date) -> Path:
    return Path(archive_dir) / "recon" / validate_tenant(tenant) / f"{day.isoformat()}.parquet"


# The plain 1:1 matches by processor reference, one row per pair: internal record i_ref and the processor's line
# line_id (its item is p_ref, processor:line id), same currency and amount, matched under match group
# ref:<processor>:<pref>:<kind> on the later of their dates, by rule processor_reference at rule_version. The
# few-valued columns may be dictionaries (the match writes them so). Files written before held p_ref itself
# (ITEM_PAIRS_SCHEMA): the readers take both.
PAIRS_SCHEMA = pa.schema([
    ("i_ref", pa.string()), ("line_id", pa.string()), ("processor", pa.string()), ("pref", pa.string()),
    ("kind", pa.string()), ("currency", pa.string()), ("amount_minor", pa.int64()), ("i_date", pa.date32()),
    ("p_date", pa.date32()), ("rule_version", pa.string()),
])
ITEM_PAIRS_SCHEMA = pa.schema([("p_ref", pa.string()) if f.name == "line_id" else f for f in PAIRS_SCHEMA])


def with_item_refs(pairs: pa.Table) -> pa.Table:
    """The pairs as ITEM_PAIRS_SCHEMA (strings, p_ref = processor:line id), from either layout of the file."""
    if "line_id" in pairs.column_names:
        p_ref = pc.binary_join_element_wise(pairs["processor"].cast(pa.string()), pairs["line_id"], ":")
        pairs = pairs.set_column(pairs.column_names.index("line_id"), "p_ref", p_ref)
    return pairs.cast(ITEM_PAIRS_SCHEMA)


def pairs_path(archive_dir: Path, tenant: str, day: dt.date) -> Path:
    return states_path(archive_dir, tenant, day).with_suffix(".pairs.parquet")


def write_states(archive_dir: Path, tenant: str, day: dt.date, states: pa.Table,
                 pairs: pa.Table | None = None) -> Path:
    """Every item state of the tenant-day, replacing an earlier run's (each file atomically): `states` as item
    rows and the plain matches as `pairs` (PAIRS_SCHEMA)."""
    target = states_path(archive_dir, tenant, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(pairs if pairs is not None else PAIRS_SCHEMA.empty_table(), pairs_path(archive_dir, tenant, day),
           statistics=_PAIRS_STATISTICS)
    _write(states, target)
    return target


# Min/max statistics of the pairs' columns, but for the ids (one value a row, never filtered on: the files are read
# whole): computing them for the 10M pairs of a 10M day cost ~0.7 s of the write.
_PAIRS_STATISTICS = [f.name for f in PAIRS_SCHEMA if f.name not in ("i_ref", "line_id", "pref")]


def _write(table: pa.Table, target: Path, statistics: bool | list[str] = True) -> None:
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd", compression_level=1, row_group_size=1_000_000,
                   write_statistics=statistics)
    tmp.replace(target)


def read_states(archive_dir: Path, tenant: str, day: dt.date) -> pa.Table | None:
    """The tenant-day's item states as written by write_states (the pairs as their items), or None if the day
    has none on file. Days written before the pairs file existed have every state in the one file."""
    path = states_path(archive_dir, tenant, day)
    if not path.exists():
        return None
    states = pq.read_table(path)
    pairs = pairs_path(archive_dir, tenant, day)
    return all_states(states, pq.read_table(pairs)) if pairs.exists() else states


def expand_pairs(pairs: pa.Table, schema: pa.Schema) -> pa.Table:
    """The two item states of each plain match (internal record first), with the columns of `schema`."""
    pairs = with_item_refs(pairs)
    n = pairs.num_rows
    matched_on = pc.max_element_wise(pairs["i_date"], pairs["p_date"])
    group = pc.binary_join_element_wise("ref", pairs["processor"], pairs["pref"], pairs["kind"], ":")
    columns = {
        "source": pa.concat_arrays([pa.repeat(pa.scalar("internal"), n), pa.repeat(pa.scalar("processor"), n)]),
        "source_ref": pa.chunked_array(pairs["i_ref"].chunks + pairs["p_ref"].chunks, pa.string()),
        "item_date": pa.chunked_array(pairs["i_date"].chunks + pairs["p_date"].chunks, pa.date32()),
        "status": pa.repeat(pa.scalar("matched"), 2 * n), "rule": pa.repeat(pa.scalar("processor_reference"), 2 * n),
    }
    for name in ("currency", "amount_minor", "rule_version"):
        columns[name] = pa.chunked_array(pairs[name].chunks * 2, pairs.schema.field(name).type)
    columns["match_group"] = pa.chunked_array(group.chunks * 2, pa.string())
    columns["matched_on"] = pa.chunked_array(matched_on.chunks * 2, pa.date32())
    return pa.table([columns[f.name] if f.name in columns else pa.nulls(2 * n, f.type) for f in schema],
                    schema=schema)


def all_states(states: pa.Table, pairs: pa.Table) -> pa.Table:
    """Every item state: `states` and the items of `pairs`."""
    if pairs.num_rows == 0:
        return states
    return pa.concat_tables([states, expand_pairs(pairs, states.schema)])


def scope_of(states: pa.Table, day: dt.date) -> pa.ChunkedArray:
    """Each state's scope for the day (see the module docstring)."""
    earlier = pc.less(states["item_date"], pa.scalar(day, pa.date32()))
    matched = pc.equal(states["status"], "matched")
    return pc.if_else(pc.invert(earlier), "day", pc.if_else(matched, "carried_matched", "carried_open"))


def queried_states(states: pa.Table) -> pa.Table:
    """The states Postgres keeps: everything but the plain matches (a match with a difference is kept)."""
    keep = pc.or_(pc.not_equal(states["status"], "matched"), pc.is_valid(states["details"]))
    return states.filter(keep)


def day_totals(states: pa.Table, day: dt.date, pairs: pa.Table | None = None) -> pa.Table:
    """Items, signed and absolute minor units per source, currency, state and scope (the items of `pairs`
    counted as their two matched items)."""
    if pairs is not None and pairs.num_rows:
        return _day_totals_with_pairs(states, day, pairs)
    table = pa.table({"source": states["source"], "currency": states["currency"], "status": states["status"],
                      "scope": scope_of(states, day), "amount_minor": states["amount_minor"],
                      "abs_amount_minor": pc.abs(states["amount_minor"])})
    grouped = table.group_by(["source", "currency", "status", "scope"], use_threads=False).aggregate(
        [("amount_minor", "count"), ("amount_minor", "sum"), ("abs_amount_minor", "sum")])
    return pa.table({
        "source": grouped["source"], "currency": grouped["currency"], "status": grouped["status"],
        "scope": grouped["scope"], "items": grouped["amount_minor_count"],
        "amount_minor": grouped["amount_minor_sum"], "abs_amount_minor": grouped["abs_amount_minor_sum"],
    }).sort_by([("source", "ascending"), ("currency", "ascending"), ("status", "ascending"),
                ("scope", "ascending")])


def _day_totals_with_pairs(states: pa.Table, day: dt.date, pairs: pa.Table) -> pa.Table:
    """day_totals over `states` and the items of `pairs`, in DuckDB (a 10M day has ~10M pairs)."""
    import duckdb

    con = duckdb.connect(config={"threads": 2})
    try:
        con.register("states", states)
        con.register("pairs", pairs)
        # scope as scope_of: the day's own items, earlier ones matched that day, earlier ones still open. The pairs
        # are read once: grouped by currency and the scope of each of their two items (a few rows), then counted
        # as those items (reading them twice, once per item, cost as much again).
        return con.sql(
            "WITH p AS (SELECT currency, i_date >= $day AS i_day, p_date >= $day AS p_day, count(*) AS n,"
            "  sum(amount_minor) AS amt, sum(abs(amount_minor)) AS abs_amt FROM pairs GROUP BY ALL),"
            " items AS ("
            " SELECT source, currency, status,"
            "  CASE WHEN item_date >= $day THEN 'day' WHEN status = 'matched' THEN 'carried_matched'"
            "       ELSE 'carried_open' END AS scope, 1 AS n, amount_minor AS amt, abs(amount_minor) AS abs_amt"
            "  FROM states"
            " UNION ALL SELECT 'internal', currency, 'matched', CASE WHEN i_day THEN 'day' ELSE 'carried_matched' END,"
            "  n, amt, abs_amt FROM p"
            " UNION ALL SELECT 'processor', currency, 'matched', CASE WHEN p_day THEN 'day' ELSE 'carried_matched'"
            "  END, n, amt, abs_amt FROM p)"
            " SELECT source, currency, status, scope, sum(n)::BIGINT AS items, sum(amt)::BIGINT AS amount_minor,"
            " sum(abs_amt)::BIGINT AS abs_amount_minor FROM items GROUP BY ALL"
            " ORDER BY source, currency, status, scope", params={"day": day}).to_arrow_table()
    finally:
        con.close()

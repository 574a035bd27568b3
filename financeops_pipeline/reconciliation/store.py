"""Where a tenant-day's reconciliation results live.

Postgres (the system of record for what people query): the breaks of the day, the item states that are not
plain matches (pending, suggested, explained, break, and matches with a difference), and the day's totals by
source, currency, state and scope. Parquet, beside the raw-file archive: every item state of the day, matched
ones included (`<archive>/recon/<tenant>/<day>.parquet`), which DuckDB reads for `trace`, the rule preview and
anything that needs one matched item. A 10M-transaction day has ~20M item states, almost all matched: writing
them to Postgres cost 43 s, as Parquet about a second.

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


def write_states(archive_dir: Path, tenant: str, day: dt.date, states: pa.Table) -> Path:
    """Every item state of the tenant-day, replacing an earlier run's (atomically)."""
    target = states_path(archive_dir, tenant, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    pq.write_table(states, tmp, compression="zstd", compression_level=1, row_group_size=1_000_000)
    tmp.replace(target)
    return target


def read_states(archive_dir: Path, tenant: str, day: dt.date) -> pa.Table | None:
    """The tenant-day's item states as written by write_states, or None if the day has none on file."""
    path = states_path(archive_dir, tenant, day)
    return pq.read_table(path) if path.exists() else None


def scope_of(states: pa.Table, day: dt.date) -> pa.ChunkedArray:
    """Each state's scope for the day (see the module docstring)."""
    earlier = pc.less(states["item_date"], pa.scalar(day, pa.date32()))
    matched = pc.equal(states["status"], "matched")
    return pc.if_else(pc.invert(earlier), "day", pc.if_else(matched, "carried_matched", "carried_open"))


def queried_states(states: pa.Table) -> pa.Table:
    """The states Postgres keeps: everything but the plain matches (a match with a difference is kept)."""
    keep = pc.or_(pc.not_equal(states["status"], "matched"), pc.is_valid(states["details"]))
    return states.filter(keep)


def day_totals(states: pa.Table, day: dt.date) -> pa.Table:
    """Items, signed and absolute minor units per source, currency, state and scope."""
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

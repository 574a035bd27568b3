"""Freshness: a business day's files have arrived by a cut-off.

The files of business day D are due by FINANCEOPS_FRESHNESS_CUTOFF ('HH:MM', default 08:00) on D + 1 in the
partitions' timezone (FINANCEOPS_TIMEZONE): bank statements and settlement reports of a day are produced
overnight. Arrival is `imports.files.imported_at`, so this is an asset check over what was actually loaded,
not dg.FreshnessPolicy (which measures when an asset was last materialized: a run can succeed on time with
no bank file at all).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import psycopg

DEFAULT_CUTOFF = "08:00"
_CUTOFF = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def cutoff_time() -> dt.time:
    """FINANCEOPS_FRESHNESS_CUTOFF as a time of day (ValueError for anything but HH:MM)."""
    text = os.environ.get("FINANCEOPS_FRESHNESS_CUTOFF", "").strip() or DEFAULT_CUTOFF
    m = _CUTOFF.fullmatch(text)
    if not m:
        raise ValueError(f"FINANCEOPS_FRESHNESS_CUTOFF must be HH:MM, got {text!r}")
    return dt.time(int(m.group(1)), int(m.group(2)))


def deadline(day: dt.date, timezone: str, cutoff: dt.time | None = None) -> dt.datetime:
    """When the files of business day `day` are due: the cut-off on the next day, in the partitions' timezone."""
    return dt.datetime.combine(day + dt.timedelta(days=1), cutoff or cutoff_time(), tzinfo=ZoneInfo(timezone))


def late_or_missing(conn: psycopg.Connection, tenant: str, day: dt.date, source: str,
                    due: dt.datetime) -> list[dict]:
    """Violations for one tenant, day and source: no usable file at all, or files imported after the deadline."""
    rows = conn.execute(
        "SELECT original_name, status, imported_at FROM imports.files"
        " WHERE tenant = %s AND business_date = %s AND source = %s ORDER BY imported_at",
        (tenant, day, source)).fetchall()
    conn.rollback()
    usable = [r for r in rows if r[1] != "rejected"]
    if not usable:
        return [{"source": source, "file": "", "imported_at": "",
                 "problem": f"no {source} file arrived (due by {due.isoformat()})"}]
    return [{"source": source, "file": name, "imported_at": at.isoformat(),
             "problem": f"arrived {at - due} after the deadline {due.isoformat()}"}
            for name, _status, at in usable if at > due]

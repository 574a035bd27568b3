"""After a resolution takes effect: re-reconcile the tenant's days from the resolution's day on, and republish
their reports, so the break's new state (and an adjusting entry's effect on the trial balance) shows at once.
Signed-off days are left as they are (the day lock); so are days the pipeline has not reconciled yet."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import psycopg


def refresh_days(conn: psycopg.Connection, archive_dir: Path, tenant: str, first_day: dt.date) -> list[dt.date]:
    """Re-run the reconciliation and the reports of every reconciled, open day from `first_day`, in date order
    (carried-forward breaks read the day before). Returns the days refreshed."""
    from financeops_pipeline.reconciliation.config import load_recon_config
    from financeops_pipeline.reconciliation.engine import load_inputs, reconcile, write_results
    from financeops_pipeline.reports.build import build_sections
    from financeops_pipeline.reports.catalog import REPORT_CATALOG
    from financeops_pipeline.workbench.daylock import day_locked

    days = [r[0] for r in conn.execute("SELECT business_date FROM recon.runs WHERE tenant = %s AND business_date >= %s"
                                       " ORDER BY 1", (tenant, first_day)).fetchall()]
    config = load_recon_config(tenant)   # the tenant's own matching rules
    run_id = f"workbench-refresh-{uuid.uuid4()}"
    refreshed = []
    for day in days:
        if day_locked(conn, tenant, day):
            continue
        result = reconcile(load_inputs(conn, archive_dir, tenant, day, config), day, config)
        if write_results(conn, archive_dir, tenant, day, result, run_id):
            for report in REPORT_CATALOG:
                build_sections(conn, report, tenant, day)
            refreshed.append(day)
    return refreshed

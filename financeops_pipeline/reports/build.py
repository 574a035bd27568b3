"""Build and publish the reports of one tenant-day into `reports.*` tables."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from financeops_pipeline.sqlfiles import load_sql

# Every stored report table and the SQL that computes it (INSERT ... SELECT into reports.<name>).
REPORTS = {
    "trial_balance": "reports/sql/trial_balance.sql",
    "recon_summary": "reports/sql/recon_summary.sql",
    "recon_match_rate": "reports/sql/recon_match_rate.sql",
    "recon_breaks": "reports/sql/recon_breaks.sql",
    "balance_sheet": "reports/sql/balance_sheet.sql",
    "income_statement": "reports/sql/income_statement.sql",
    "cash_position": "reports/sql/cash_position.sql",
    "processor_fees": "reports/sql/processor_fees.sql",
    "break_aging": "reports/sql/break_aging.sql",
    "break_aging_items": "reports/sql/break_aging_items.sql",
}


def build_report(conn: psycopg.Connection, name: str, tenant: str, day: dt.date) -> list[dict]:
    """Compute a report, replace its stored rows for the tenant-day, and return them. A signed-off day is locked:
    its published rows are returned as they are, not recomputed."""
    from financeops_pipeline.workbench.daylock import day_locked

    params = {"tenant": tenant, "day": day}
    table = sql.Identifier("reports", name)
    with conn.transaction():
        if day_locked(conn, tenant, day):
            cur = conn.execute(sql.SQL("SELECT * FROM {} WHERE tenant = %s AND business_date = %s").format(table),
                               (tenant, day))
            columns = [d.name for d in cur.description]
            return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
        conn.execute(sql.SQL("DELETE FROM {} WHERE tenant = %s AND business_date = %s").format(table),
                     (tenant, day))
        cur = conn.execute(sql.SQL("INSERT INTO {} {} RETURNING *").format(table, sql.SQL(load_sql(REPORTS[name]))),
                           params)
        columns = [d.name for d in cur.description]
        return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]


def build_sections(conn: psycopg.Connection, report: str, tenant: str, day: dt.date) -> dict[str, list[dict]]:
    """Build every section table of a catalog report (see catalog.py) for the tenant-day, in one transaction."""
    from financeops_pipeline.reports.catalog import REPORT_CATALOG

    with conn.transaction():
        return {s.table: build_report(conn, s.table, tenant, day) for s in REPORT_CATALOG[report].sections}


def markdown_table(rows: list[dict], columns: list[str], limit: int = 30) -> str:
    """A small markdown preview for Dagster metadata and the CLI."""
    if not rows:
        return "_no rows_"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |\n" for r in rows[:limit])
    more = f"\n_{len(rows) - limit} more rows_" if len(rows) > limit else ""
    return head + body + more

"""`financeops report NAME`: print or save a stored report of a tenant-day as CSV, XLSX or HTML.

Reports are read back from the `reports.*` tables the daily run published (as the tenant's own role, so
row-level security applies), never recomputed here. `--account` drills a line down to its postings and their
source records instead.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from financeops_pipeline.landing import validate_tenant
from financeops_pipeline.reports.catalog import BY_CLI_NAME

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def read_report(conn, name: str, tenant: str, day: dt.date):
    """Stored sections of a report for a tenant-day: [(Section, rows)]."""
    from psycopg import sql

    sections = []
    for section in BY_CLI_NAME[name].sections:
        query = sql.SQL("SELECT * FROM {} WHERE tenant = %s AND business_date = %s ORDER BY " + section.order_by
                        ).format(sql.Identifier("reports", section.table))
        cur = conn.execute(query, (tenant, day))
        columns = [d.name for d in cur.description]
        sections.append((section, [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]))
    conn.rollback()
    return sections


def render(fmt: str, title: str, sections) -> bytes:
    from financeops_pipeline.reports.render import write_csv, write_html, write_xlsx

    if fmt == "xlsx":
        return write_xlsx(title, sections)
    return (write_html(title, sections) if fmt == "html" else write_csv(sections)).encode("utf-8")


@click.command("report")
@click.argument("name", type=click.Choice(list(BY_CLI_NAME)))
@click.option("--date", "day", type=_DATE, required=True, help="Business day of the report (YYYY-MM-DD).")
@click.option("--tenant", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "html"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default: stdout).")
@click.option("--from", "period_start", type=_DATE,
              help="income-statement only: the period --from..--date (inclusive), computed now from the balance "
                   "snapshots (the stored report has the day and the month to date).")
@click.option("--account", help="Drill down: list the postings behind this account's line and their source records.")
@click.option("--currency", help="With --account: only this currency.")
@click.option("--since", type=_DATE, help="With --account: postings from this day (default: all up to --date for "
                                          "balances, --date itself for the income statement).")
def report(name: str, day: dt.datetime, tenant: str, fmt: str, out: Path | None, period_start: dt.datetime | None,
           account: str | None, currency: str | None, since: dt.datetime | None) -> None:
    """Print a stored report of a tenant-day (NAME: trial-balance, balance-sheet, income-statement,
    cash-position, recon-summary, break-aging, fees).

    Money is exact decimal text from minor units (XLSX: decimal cells with the currency's number format).
    A report with several sections prints each as a CSV block after a `# <table>` line (XLSX: one sheet each).
    """
    from financeops_pipeline.db.pools import tenant_session
    from financeops_pipeline.runtime import runtime

    validate_tenant(tenant)
    chosen = BY_CLI_NAME[name]
    business_date = day.date()
    if period_start and (name != "income-statement" or account):
        raise click.UsageError("--from is for income-statement (without --account)")
    if period_start and period_start.date() > business_date:
        raise click.UsageError(f"--from {period_start.date()} is after --date {business_date}")
    with runtime() as rt, tenant_session(rt.db_url, tenant, "reports") as conn:
        if account:
            from financeops_pipeline.reports.drill import DRILL_SECTION, postings_behind

            start = since.date() if since else (business_date if chosen.drill_default_since_day else None)
            rows = postings_behind(conn, tenant, account, business_date, currency, start)
            sections = [(DRILL_SECTION, rows)]
            title = f"{chosen.cli_name} {tenant} {business_date}: postings of {account}"
        elif period_start:
            from financeops_pipeline.reports.period import PERIOD_SECTION, income_statement_for_period

            sections = [(PERIOD_SECTION, income_statement_for_period(conn, tenant, period_start.date(), business_date))]
            title = f"{chosen.cli_name} {tenant} {period_start.date()}..{business_date}"
        else:
            sections = read_report(conn, name, tenant, business_date)
            title = f"{chosen.cli_name} {tenant} {business_date}"
    if not any(rows for _, rows in sections):
        click.echo(f"note: no stored rows for {title} (has the day been run?)", err=True)
    payload = render(fmt, title, sections)
    if out:
        out.write_bytes(payload)
        click.echo(f"wrote {out} ({len(payload)} bytes)", err=True)
    elif fmt == "xlsx" and sys.stdout.isatty():
        raise click.UsageError("--format xlsx writes a binary workbook: give --out FILE")
    else:
        click.get_binary_stream("stdout").write(payload)

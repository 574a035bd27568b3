"""`financeops rules`: check a matching-rules file, and try it on stored days before using it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from financeops_pipeline.landing import validate_tenant

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("rules")
def rules() -> None:
    """The matching rules (reconciliation/rules/default.yaml, or the tenant's own file)."""


@rules.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_cmd(path: Path) -> None:
    """Validate a rules file (errors name the file and line)."""
    from financeops_pipeline.reconciliation.rules import load_rules

    ruleset = load_rules(path)
    click.echo(f"{path}: rules version {ruleset.version}, "
               + ", ".join(f"{r.id} v{r.version} ({r.type})" for r in ruleset.rules))


@rules.command("test")
@click.option("--tenant", required=True)
@click.option("--from", "start", type=DATE, required=True, help="First business day (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, help="Last business day, inclusive (default: --from).")
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The rules file to try (default: the tenant's current rules).")
@click.option("--details/--no-details", default=False, help="List every item whose state or rule would change.")
def test_cmd(tenant: str, start: dt.datetime, end: dt.datetime | None, rules_file: Path | None,
             details: bool) -> None:
    """Re-run the match of TENANT's days with RULES, writing nothing, and print per day the matches gained and
    lost and the breaks opened and closed against the stored results."""
    from financeops_pipeline.cli import _days
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.reconciliation.config import load_recon_config
    from financeops_pipeline.reconciliation.preview import preview_day
    from financeops_pipeline.runtime import runtime

    validate_tenant(tenant)
    config = load_recon_config(tenant, rules_file)
    click.echo(f"rules {config.rules.source} (version {config.rules.version}) against the stored results of {tenant}")
    click.echo(f"{'day':<10}  {'matches +':>9}  {'matches -':>9}  {'breaks +':>8}  {'breaks -':>8}  "
               f"{'rule changed':>12}  {'adjustments':>11}")
    with runtime() as rt, tenant_connection(rt.db_url, tenant) as conn:
        for day in _days(start.date(), end.date() if end else None):
            p = preview_day(conn, rt.settings.archive_dir, tenant, day, config)
            note = "" if p.stored else "  (not reconciled yet: everything is new)"
            click.echo(f"{day.isoformat():<10}  {p.matches_gained:>9}  {p.matches_lost:>9}  {p.breaks_opened:>8}  "
                       f"{p.breaks_closed:>8}  {p.rule_changed:>12}  {p.adjustments:>11}{note}")
            if details:
                for c in p.changes:
                    click.echo(f"  {c['change']:<13} {c['source']:<9} {c['source_ref']}: {c['old_status'] or '-'}"
                               f"/{c['old_rule'] or c['old_break'] or '-'} -> {c['new_status'] or '-'}"
                               f"/{c['new_rule'] or c['new_break'] or '-'}")
    click.echo("nothing was written")

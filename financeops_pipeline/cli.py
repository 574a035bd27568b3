"""The `financeops` command: run the daily close, start the UI, import files, list breaks."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import click

from financeops_pipeline.landing import discover_tenants, validate_tenant

DATE = click.DateTime(formats=["%Y-%m-%d"])
# Step logs stay in Dagster's event log (Postgres); the terminal shows warnings and the summary.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _days(start: dt.date, end: dt.date | None) -> list[dt.date]:
    end = end or start
    if end < start:
        raise click.BadParameter("--to must not be before --date")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


class _Group(click.Group):
    """Turns expected failures (bad input, database refusals) into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        import psycopg

        from financeops_pipeline.errors import FileRejected
        from financeops_pipeline.money import MoneyError

        try:
            return super().invoke(ctx)
        except (FileRejected, MoneyError, ValueError, psycopg.Error, OSError) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """financeops: import, post, reconcile and report every penny of the day.

    With no DATABASE_URL, an embedded PostgreSQL 18 is started under FINANCEOPS_HOME (default
    .financeops/) and stopped when the command ends.
    """
    # Dagster flags beta/preview parameters on every import; they are known and pinned here.
    warnings.filterwarnings("ignore", message=r".*currently in (beta|preview).*")


@main.command()
@click.option("--date", "start", type=DATE, required=True, help="First business day (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, help="Last business day, inclusive (default: --date).")
@click.option("--tenant", "tenants", multiple=True, help="Tenant to run (repeatable; default: every tenant).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Landing folder <tenant>/<YYYY-MM-DD>/{bank,processor,internal}/ (default FINANCEOPS_DATA_DIR).")
def run(start: dt.datetime, end: dt.datetime | None, tenants: tuple[str, ...], data_dir: Path | None) -> None:
    """Materialize the whole asset graph through Dagster: one run per tenant over the date range (the
    tenant-day partitions --date..--to, days in date order inside the run, as a single-run backfill does),
    then print a summary per day."""
    from dagster import DagsterInstance

    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.summary import day_summary

    for t in tenants:
        validate_tenant(t)
    days = _days(start.date(), end.date() if end else None)
    failed = False
    with runtime(data_dir, tenants) as rt:
        chosen = list(tenants) or list(rt.settings.tenants) or discover_tenants(
            (data_dir or rt.settings.data_dir).resolve())
        if not chosen:
            raise click.ClickException(f"no tenant folders in {data_dir or rt.settings.data_dir}")
        # imported here, after runtime() exported the environment its partitions (tenants) are read from
        from financeops_pipeline.orchestration.definitions import defs
        from financeops_pipeline.orchestration.partitions import range_tags
        from financeops_pipeline.orchestration.resources import hold_storage_connections

        job = defs.resolve_job_def("daily_close")
        with DagsterInstance.get() as instance:
            hold_storage_connections(instance)
            for tenant in chosen:
                result = job.execute_in_process(tags=range_tags(days[0], days[-1], [tenant]), instance=instance,
                                                raise_on_error=False, run_config=QUIET_LOGS)
                status = "succeeded" if result.success else "FAILED"
                click.echo(f"== {tenant} {days[0]}..{days[-1]} run {result.run_id[:8]} {status}")
                click.echo(_step_times(instance, result.run_id))
                failed |= not result.success
                with tenant_connection(rt.db_url, tenant) as conn:
                    for day in days:
                        for line in day_summary(conn, tenant, day):
                            click.echo(line)
    if failed:
        sys.exit(1)


def _step_times(instance, run_id: str) -> str:
    """The run's steps in the order they started, with their wall time, from the instance's event log."""
    stats = sorted(instance.get_run_step_stats(run_id), key=lambda s: s.start_time or 0)
    whole = instance.get_run_stats(run_id)
    steps = ", ".join(f"{s.step_key} {s.end_time - s.start_time:.1f}" for s in stats if s.start_time and s.end_time)
    return f"   steps (s): {steps}" + (f"; run {whole.end_time - whole.start_time:.1f} s" if whole.end_time else "")


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Landing folder.")
@click.option("--port", default=3000, show_default=True, help="Port of the Dagster UI.")
@click.option("--workbench-port", default=8000, show_default=True, help="Port of the breaks workbench.")
def dev(data_dir: Path | None, port: int, workbench_port: int) -> None:
    """Start Postgres if needed, then the Dagster UI on workspace.yaml and the breaks workbench beside it
    (Ctrl-C stops all)."""
    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.settings import PROJECT_ROOT

    with runtime(data_dir) as rt:
        cmd = [str(Path(sys.executable).with_name("dagster")), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
               "-p", str(port)]
        # The workbench reaches this same server (DATABASE_URL), so it starts none of its own.
        bench_env = {**os.environ, "DATABASE_URL": rt.db_url}
        workbench = subprocess.Popen([str(Path(sys.executable).with_name("financeops")), "workbench", "--port",
                                      str(workbench_port)], env=bench_env)
        try:
            with contextlib.suppress(KeyboardInterrupt):   # Ctrl-C stops the UI; the server stops below
                subprocess.run(cmd, check=False)
        finally:
            workbench.terminate()
            workbench.wait(timeout=30)


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", help="Tenant the files belong to (required unless --dry-run).")
@click.option("--date", "day", type=DATE, help="Business day to file them under (default: today).")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Bank-CSV mapping (YAML) to read every file with; default: the tenant's "
                   "<data_dir>/<tenant>/bank_mappings/ and the shipped imports/bank_mappings/, by their match.")
@click.option("--dry-run", is_flag=True,
              help="Parse and validate only (no database): format, statements, accounts, currencies, records, "
                   "totals, balances given / derived, integrity, first errors.")
def import_cmd(paths: tuple[Path, ...], tenant: str | None, day: dt.datetime | None, mapping_file: Path | None,
               dry_run: bool) -> None:
    """Load files of any supported format (detected by content), outside the daily run."""
    from financeops_pipeline.imports.bankcsv import load_mapping, shipped_mappings, tenant_mappings
    from financeops_pipeline.settings import load_settings

    if tenant is not None:
        validate_tenant(tenant)
    elif not dry_run:
        raise click.UsageError("--tenant is required (only --dry-run works without one)")
    mapping = load_mapping(mapping_file) if mapping_file else None
    mappings = tenant_mappings(load_settings().data_dir, tenant) if tenant else shipped_mappings()
    if dry_run:
        from financeops_pipeline.imports.dryrun import dry_run as check_file

        results = [check_file(path, mappings, mapping) for path in paths]
        for result in results:
            for line in result.lines():
                click.echo(line)
        if not all(r.ok for r in results):
            sys.exit(1)
        return
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.imports.loader import import_file
    from financeops_pipeline.runtime import runtime

    assert tenant is not None
    business_date = day.date() if day else dt.date.today()
    bad = False
    with runtime() as rt, tenant_connection(rt.db_url, tenant) as conn:
        run_id = f"cli-import-{uuid.uuid4()}"
        for path in paths:
            outcome = import_file(conn, tenant, path, business_date, run_id, rt.settings.archive_dir, mappings,
                                  mapping)
            click.echo(outcome.summary())
            bad |= outcome.status in ("rejected", "partial")
    if bad:
        sys.exit(1)


@main.command("trace")
@click.argument("reference")
@click.option("--tenant", required=True)
def trace_cmd(reference: str, tenant: str) -> None:
    """Walk the audit trail from REFERENCE (entry id, idempotency key, transaction / line / payout / bank
    reference, or FILE_SHA256[:position]) to its journal entries, their postings and the source record; for a
    break id, first the break's whole history (reconciliation days, proposals, decisions, every person's action)."""
    from financeops_pipeline.cli_workbench import print_break_trace
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.ledger.trace import trace
    from financeops_pipeline.money import format_minor
    from financeops_pipeline.runtime import runtime

    validate_tenant(tenant)
    with runtime() as rt, tenant_connection(rt.db_url, tenant) as conn:
        was_break = print_break_trace(conn, tenant, reference)   # a break id: its whole history first
        traced = trace(conn, tenant, reference)
    if not traced and not was_break:
        raise click.ClickException(f"nothing posted for {reference!r} in tenant {tenant}")
    for item in traced:
        e = item.entry
        click.echo(f"entry {e['entry_id']} {e['business_date']} {e['rule_id']} (rules {e['rule_version']}, "
                   f"code {e['code_version']}, run {e['run_id']}) key {e['idempotency_key']}")
        for p in item.postings:
            side = "Dr" if p["amount_minor"] > 0 else "Cr"
            click.echo(f"  {side} {p['account_code']:<36} {format_minor(abs(p['amount_minor']), p['currency'])}")
        if item.source:
            click.echo(f"  source: {item.source['source']} record {e['source_position']} of "
                       f"{item.source['original_name']} (sha256 {e['source_file_sha256'][:12]}, "
                       f"archived {item.source['archive_path']})")
        elif e["source_file_sha256"]:
            click.echo(f"  source: {e['source_kind']} aggregate, first record {e['source_position']} of file "
                       f"sha256 {e['source_file_sha256'][:12]}")


from financeops_pipeline.cli_reports import report  # noqa: E402

main.add_command(report)


from financeops_pipeline.cli_synthetic import generate  # noqa: E402

main.add_command(generate)


from financeops_pipeline.cli_bench import bench  # noqa: E402

main.add_command(bench)


from financeops_pipeline.cli_rules import rules  # noqa: E402

main.add_command(rules)


from financeops_pipeline.cli_workbench import breaks, users, workbench  # noqa: E402

main.add_command(breaks)
main.add_command(users)
main.add_command(workbench)


if __name__ == "__main__":
    main()

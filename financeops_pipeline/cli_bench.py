"""`financeops bench`: the figures behind the README's speed and memory claims, measured on this machine."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

PARTS = ("formats", "day", "posting", "reports")   # what a bare `financeops bench` runs
# `--only imports`: the day's import stage alone with its floor (the day's first stage, for quick iterations)
CHOICES = ("formats", "day", "imports", "posting", "reports")


@contextmanager
def _fresh_database(admin_url: str, url_of: Callable[[str], str], name: str, keep: bool) -> Iterator[str]:
    """An empty database on the server, dropped afterwards unless kept for inspection."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield url_of(name)
    finally:
        if not keep:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@click.command("bench")
@click.option("--transactions", type=click.IntRange(min=1), default=10_000_000, show_default=True,
              help="Internal transactions in the end-to-end day (with their processor lines, payouts, bank).")
@click.option("--format-records", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Records per file for the per-format parse + load throughput.")
@click.option("--posting-transactions", type=click.IntRange(min=1), multiple=True,
              default=(500_000, 5_000_000), show_default=True,
              help="Days posted on their own (import + posting), one per value; each internal transaction makes "
                   "about two events (its entry and its processor fee), so the defaults are ~1M and ~10M events.")
@click.option("--report-postings", type=click.IntRange(min=1), default=50_000_000, show_default=True,
              help="Postings in the ledger the report queries are timed against.")
@click.option("--only", type=click.Choice(CHOICES), multiple=True,
              help="Run only these parts (repeatable; default: all but imports, which the day includes: `--only "
                   "imports` is the day's import stage alone, with the floor, at --transactions).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where generated files go (created if missing; default: a temporary folder, removed afterwards).")
@click.option("--keep", is_flag=True, help="Keep the benchmark databases and files for inspection.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the whole day's figures (floor, stages, peak memory) to this file as JSON.")
def bench(transactions: int, format_records: int, posting_transactions: tuple[int, ...], report_postings: int,
          only: tuple[str, ...], workdir: Path | None, keep: bool, json_path: Path | None) -> None:
    """Measure import throughput per format, one whole day end to end, posting alone, and report query latency.

    Runs on fresh databases on the embedded server (or DATABASE_URL's server), never on the pipeline's own
    database. Prints wall time and peak memory per stage. The full default run takes well over half an hour
    (filling 50M postings alone ~22 min): pick parts with --only and sizes with the options.
    """
    from financeops_pipeline.bench.day import bench_day, bench_imports, bench_posting
    from financeops_pipeline.bench.formats import bench_formats
    from financeops_pipeline.bench.measure import table
    from financeops_pipeline.bench.reports import bench_report_queries, format_table
    from financeops_pipeline.db.server import postgres
    from financeops_pipeline.settings import load_settings

    parts = only or PARTS
    settings = load_settings()
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="financeops-bench-", dir=workdir) as tmp, \
            postgres(settings.home, settings.database_url) as target:
        folder = Path(tmp) if not keep else Path(tempfile.mkdtemp(prefix="financeops-bench-", dir=workdir))

        def database(name: str):
            return _fresh_database(target.admin_url, target.url, name, keep)

        if "formats" in parts:
            with database("fo_bench_formats") as url:
                stages = bench_formats(url, format_records, folder / "formats", log=click.echo)
            click.echo(f"\nParse + load per format ({format_records:,} transactions' worth of each file)\n"
                       + table(stages, unit="records"))
        if "day" in parts:
            with database("fo_bench_day") as url:
                day = bench_day(url, transactions, folder / "day", log=click.echo)
            click.echo(f"\nOne day of {transactions:,} internal transactions (x floor: the stage's multiple of the "
                       f"floor measured in this run)\n" + table(day.printed))
            if json_path:
                json_path.write_text(json.dumps(day.to_json(), indent=2) + "\n")
                click.echo(f"figures written to {json_path}")
        if "imports" in parts:
            with database("fo_bench_imports") as url:
                stages = bench_imports(url, transactions, folder / "imports", log=click.echo)
            click.echo(f"\nThe import stage of one day of {transactions:,} internal transactions (x floor: its "
                       f"multiple of the floor measured in this run)\n" + table(stages))
        if "posting" in parts:
            for size in posting_transactions:
                with database("fo_bench_posting") as url:
                    stages = bench_posting(url, size, folder / f"posting_{size}", log=click.echo)
                click.echo(f"\nImport + posting of one day of {size:,} internal transactions\n" + table(stages))
        if "reports" in parts:
            with database("fo_bench_reports") as url:
                results = bench_report_queries(url, report_postings, log=click.echo)
            click.echo(f"\nReport queries for one tenant-day, {report_postings:,} postings in the ledger "
                       f"(filled in {results[0]['fill_s']} s)\n" + format_table(results))
        if keep:
            click.echo(f"\nkept: databases fo_bench_* and files in {folder}")

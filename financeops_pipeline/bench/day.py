"""One synthetic business day end to end: import to Postgres, posting, reconciliation, reports.

Each stage calls the same functions the Dagster assets call, in the same order, on a fresh database, so the
figures are the pipeline's own. The day is written first by `financeops generate` (not counted in the day).
The pandas baseline (a vectorized subset of the match) runs afterwards on the very Arrow inputs DuckDB
matched, for a ratio.

`bench_posting` runs the first two stages alone (import, posting), for posting throughput at sizes whose
reconciliation would not fit in memory next to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from financeops_pipeline.bench.measure import Stage, measured

DAY = dt.date(2026, 11, 2)
TENANT = "acme"
RUN_ID = "bench"
PANDAS_MAX_ITEMS = 4_000_000   # the pandas baseline holds several copies of its inputs: above this it is skipped


IMPORT_WORKERS = 2   # the daily job's multiprocess executor runs its import assets one per core at once


def _import_and_post(database_url: str, landing: Path, archive: Path,
                     log: Callable[[str], None]) -> tuple[list[Stage], list[Stage]]:
    """Import every file of the generated day, then post it: the first two stages of the day.

    Imports run as the daily job runs them: each source's files in order on a connection of its own, two
    sources at a time. Returns the per-file figures (overlapping in time, so not part of the day's sum) and
    the day's stages (all imports as one, then posting).
    """
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.imports.loader import import_file
    from financeops_pipeline.landing import day_files
    from financeops_pipeline.ledger.posting import post_day_in_slices, posting_slices

    connect = partial(tenant_connection, database_url, TENANT, application_name="financeops-bench")

    def import_source(source: str) -> list[Stage]:
        stages = []
        with connect() as conn:
            for path in day_files(landing, TENANT, DAY, source):
                with measured(f"import {source}") as stage:
                    outcome = import_file(conn, TENANT, path, DAY, RUN_ID, archive)
                stage.name, stage.rows = f"  import {outcome.format}", outcome.records_loaded
                stage.note = f"{path.stat().st_size / 1e6:,.0f} MB, {outcome.status}"
                stages.append(stage)
                log(f" {stage.name}: {stage.seconds:.1f} s")
        return stages

    with (measured(f"import (every file, {IMPORT_WORKERS} sources at a time)") as imports,
          ThreadPoolExecutor(IMPORT_WORKERS, thread_name_prefix="import") as pool):
        per_file = [stage for stages in pool.map(import_source, ("internal", "processor", "bank"))
                    for stage in stages]
    imports.rows = sum(stage.rows or 0 for stage in per_file)
    imports.note = "the lines above overlap in time"
    log(f"  import: {imports.seconds:.1f} s")
    slices = posting_slices()
    with measured("posting") as posting:
        posted = post_day_in_slices(connect, TENANT, DAY, RUN_ID, slices)
    posting.rows = posted.postings_posted
    posting.note = f"{posted.entries_posted:,} entries (events), {slices} slices at once"
    log(f"  posting: {posting.seconds:.1f} s")
    return per_file, [imports, posting]


def _generate(landing: Path, transactions: int, seed: int, log: Callable[[str], None]) -> Stage:
    from financeops_pipeline.synthetic.generate import generate

    log(f"generating {transactions:,} transactions for {TENANT} {DAY} in {landing} ...")
    with measured("generate the day's files (not in the day)") as generated:
        generate(landing, DAY, 1, transactions, [TENANT], seed=seed, progress=False)
    return generated


def bench_posting(database_url: str, transactions: int, workdir: Path, log: Callable[[str], None] = print,
                  seed: int = 1) -> list[Stage]:
    """Import and post one generated day (no reconciliation): posting throughput and peak memory."""
    from financeops_pipeline.db.migrate import migrate

    generated = _generate(workdir / "landing", transactions, seed, log)
    migrate(database_url)
    per_file, stages = _import_and_post(database_url, workdir / "landing", workdir / "archive", log)
    return [generated, *per_file, *stages]


def bench_day(database_url: str, transactions: int, workdir: Path, log: Callable[[str], None] = print,
              seed: int = 1) -> list[Stage]:
    """Generate one day of `transactions` internal transactions, run it through every stage, return figures."""
    from financeops_pipeline.bench.pandas_baseline import reconcile_pandas
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.db.migrate import migrate
    from financeops_pipeline.reconciliation.config import load_recon_config
    from financeops_pipeline.reconciliation.engine import load_inputs, reconcile, write_results
    from financeops_pipeline.reports.build import build_sections
    from financeops_pipeline.reports.catalog import REPORT_CATALOG

    landing = workdir / "landing"
    generated = _generate(landing, transactions, seed, log)
    migrate(database_url)

    config = load_recon_config()
    with tenant_connection(database_url, TENANT, application_name="financeops-bench") as conn:
        per_file, day = _import_and_post(database_url, landing, workdir / "archive", log)
        with measured("recon: Postgres -> Arrow (ADBC)") as stage:
            inputs = load_inputs(database_url, TENANT, DAY, config)
        stage.rows = inputs.internal.num_rows + inputs.processor.num_rows + inputs.bank.num_rows
        day.append(stage)
        with measured("recon: three-way match (DuckDB)") as match:
            result = reconcile(inputs, DAY, config)
        items = match.rows = day[-1].rows
        match.note = _counts(result.counts())
        day.append(match)
        if items > PANDAS_MAX_ITEMS:
            inputs = None   # not kept for the pandas baseline: free the Arrow inputs before the write-back
        with measured("recon: results -> Postgres (COPY)") as stage:
            write_results(conn, TENANT, DAY, result, RUN_ID)
        stage.rows = result.item_status.num_rows + result.breaks.num_rows
        day.append(stage)
        log(f"  reconciliation: {sum(s.seconds for s in day[-3:]):.1f} s")
        with measured("reports (all 7, published)") as stage:
            stage.rows = sum(len(rows) for name in REPORT_CATALOG
                             for rows in build_sections(conn, name, TENANT, DAY).values())
        day.append(stage)

    recon = Stage("reconciliation stage (load+match+write)", seconds=sum(s.seconds for s in day[-4:-1]),
                  peak_rss=max(s.peak_rss for s in day[-4:-1]), rows=items)
    whole = Stage("whole day end to end", seconds=sum(s.seconds for s in day),
                  peak_rss=max(s.peak_rss for s in day), rows=transactions, note="rows = internal transactions")
    if inputs is None:
        naive = Stage("pandas baseline (same inputs)", rows=items,
                      note=f"skipped above {PANDAS_MAX_ITEMS:,} items: pandas needs several times the inputs' memory")
        return [generated, *per_file, *day, recon, whole, naive]
    with measured("pandas baseline (same inputs)") as naive:
        naive_counts = reconcile_pandas(inputs)
    naive.rows = items
    naive.note = f"{naive.seconds / match.seconds:.1f}x the DuckDB match; {_counts(naive_counts)}"
    return [generated, *per_file, *day, recon, whole, naive]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))

"""One synthetic business day end to end: import to Postgres, posting, reconciliation, reports.

Each stage calls the same functions the Dagster assets call, on a fresh database, and runs beside the stages
the daily job's multiprocess executor runs beside it (two import sources at a time; posting and the
reconciliation at once, since the reconciliation reads the imports only), so the figures are the pipeline's
own. The day is written first by `financeops generate` (not counted in the day). The reconciliation then runs
once more on its own, for its own figure, and the pandas baseline (a vectorized subset of the match) on the
very Arrow inputs DuckDB matched, for a ratio.

`bench_posting` runs the first two stages alone (import, posting), for posting throughput at sizes whose
reconciliation would not fit in memory next to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from financeops_pipeline.bench.measure import Stage, measured

if TYPE_CHECKING:
    from financeops_pipeline.reconciliation.config import ReconConfig
    from financeops_pipeline.reconciliation.engine import ReconInputs

DAY = dt.date(2026, 11, 2)
TENANT = "acme"
RUN_ID = "bench"
PANDAS_MAX_ITEMS = 4_000_000   # the pandas baseline holds several copies of its inputs: above this it is skipped


IMPORT_WORKERS = 2   # the daily job's multiprocess executor runs its import assets one per core at once


def _connect(database_url: str) -> Callable[[], AbstractContextManager[psycopg.Connection]]:
    from financeops_pipeline.db.connect import tenant_connection

    return partial(tenant_connection, database_url, TENANT, application_name="financeops-bench")


def _import(database_url: str, landing: Path, archive: Path, log: Callable[[str], None]) -> list[Stage]:
    """Import every file of the generated day as the daily job does: each source's files in order on a connection
    of its own, two sources at a time. Returns the per-file figures (indented: they overlap in time), then the
    import stage itself."""
    from financeops_pipeline.imports.loader import import_file
    from financeops_pipeline.landing import day_files

    def import_source(source: str) -> list[Stage]:
        stages = []
        with _connect(database_url)() as conn:
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
    return [*per_file, imports]


def _post(database_url: str, log: Callable[[str], None], name: str = "posting") -> Stage:
    """Post the imported day in slices at once, as the ledger asset does."""
    from financeops_pipeline.ledger.posting import post_day_in_slices, posting_slices

    slices = posting_slices()
    with measured(name) as posting:
        posted = post_day_in_slices(_connect(database_url), TENANT, DAY, RUN_ID, slices)
    posting.rows = posted.postings_posted
    posting.note = f"{posted.entries_posted:,} entries (events), {slices} slices at once"
    log(f"  {name.strip()}: {posting.seconds:.1f} s")
    return posting


def _reconcile(database_url: str, config: ReconConfig, log: Callable[[str], None], prefix: str = "",
               keep_inputs: bool = False) -> tuple[list[Stage], ReconInputs | None]:
    """Load, match and write back the day, as the reconciliation asset does: one stage per part, then the
    three summed. The Arrow inputs are returned only when asked for (the pandas baseline), else freed before
    the write-back."""
    from financeops_pipeline.reconciliation.engine import load_inputs, reconcile, write_results

    with measured(f"{prefix}recon: Postgres -> Arrow (ADBC)") as load:
        inputs = load_inputs(database_url, TENANT, DAY, config)
    load.rows = inputs.internal.num_rows + inputs.processor.num_rows + inputs.bank.num_rows
    with measured(f"{prefix}recon: three-way match (DuckDB)") as match:
        result = reconcile(inputs, DAY, config)
    match.rows, match.note = load.rows, _counts(result.counts())
    kept, inputs = (inputs if keep_inputs else None), None
    with measured(f"{prefix}recon: results -> Postgres (COPY)") as write, _connect(database_url)() as conn:
        write_results(conn, TENANT, DAY, result, RUN_ID)
    write.rows = result.item_status.num_rows + result.breaks.num_rows
    parts = [load, match, write]
    total = Stage(f"{prefix}reconciliation stage (load+match+write)", seconds=sum(s.seconds for s in parts),
                  peak_rss=max(s.peak_rss for s in parts), rows=load.rows)
    log(f"  {total.name.strip()}: {total.seconds:.1f} s")
    return [*parts, total], kept


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
    return [generated, *_import(database_url, workdir / "landing", workdir / "archive", log), _post(database_url, log)]


def bench_day(database_url: str, transactions: int, workdir: Path, log: Callable[[str], None] = print,
              seed: int = 1) -> list[Stage]:
    """Generate one day of `transactions` internal transactions, run it through every stage, return figures."""
    from financeops_pipeline.bench.pandas_baseline import reconcile_pandas
    from financeops_pipeline.db.migrate import migrate
    from financeops_pipeline.reconciliation.config import load_recon_config
    from financeops_pipeline.reports.build import build_sections
    from financeops_pipeline.reports.catalog import REPORT_CATALOG

    landing = workdir / "landing"
    generated = _generate(landing, transactions, seed, log)
    migrate(database_url)
    config = load_recon_config()

    imports = _import(database_url, landing, workdir / "archive", log)
    # The reconciliation reads the imports only, so the daily job's executor runs it beside posting.
    with (measured("posting and reconciliation at once") as at_once,
          ThreadPoolExecutor(2, thread_name_prefix="ledger-and-recon") as pool):
        posting = pool.submit(_post, database_url, log, "  posting")
        recon = pool.submit(_reconcile, database_url, config, log, "  ")
        beside = [posting.result(), *recon.result()[0]]
    at_once.note = "the lines above overlap in time"
    with measured("reports (all 7, published)") as reports, _connect(database_url)() as conn:
        reports.rows = sum(len(rows) for name in REPORT_CATALOG
                           for rows in build_sections(conn, name, TENANT, DAY).values())
    day = [imports[-1], at_once, reports]
    whole = Stage("whole day end to end", seconds=sum(s.seconds for s in day), peak_rss=max(s.peak_rss for s in day),
                  rows=transactions, note="rows = internal transactions")

    # The reconciliation stage on its own, against its target: the day reconciled once more with nothing else
    # running (a re-run replaces the day's rows with the same rows).
    items = beside[1].rows or 0
    alone, inputs = _reconcile(database_url, config, log, keep_inputs=items <= PANDAS_MAX_ITEMS)
    figures = [generated, *imports[:-1], *day[:1], *beside, *day[1:], whole, *alone]
    if inputs is None:
        return [*figures, Stage("pandas baseline (same inputs)", rows=items, note=(
            f"skipped above {PANDAS_MAX_ITEMS:,} items: pandas needs several times the inputs' memory"))]
    with measured("pandas baseline (same inputs)") as naive:
        naive_counts = reconcile_pandas(inputs)
    naive.rows = items
    naive.note = f"{naive.seconds / alone[1].seconds:.1f}x the DuckDB match; {_counts(naive_counts)}"
    return [*figures, naive]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))

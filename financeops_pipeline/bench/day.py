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
from dataclasses import dataclass
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
        posted = post_day_in_slices(connect, TENANT, DAY, RUN_ID, slices, archive_dir=archive)
    posting.rows = posted.postings_posted
    steps = ", ".join(f"{k} {v:.2f}" for k, v in posted.timings.items())
    posting.note = (f"{posted.transfers_posted:,} transfers ({posted.transfers_posted / posting.seconds:,.0f}/s), "
                    f"{posted.entries_posted:,} entries, {slices} batch(es); s: {steps}")
    log(f"  posting: {posting.seconds:.1f} s")
    return per_file, [imports, posting]


def _generate(landing: Path, transactions: int, seed: int, log: Callable[[str], None]) -> Stage:
    from financeops_pipeline.synthetic.generate import generate

    log(f"generating {transactions:,} transactions for {TENANT} {DAY} in {landing} ...")
    with measured("generate the day's files (not in the day)") as generated:
        generate(landing, DAY, 1, transactions, [TENANT], seed=seed, progress=False)
    return generated


def measure_floor(database_url: str, landing: Path, log: Callable[[str], None]) -> Stage:
    """The floor every stage is compared with, measured in the same run: the day's parsed records COPYed once,
    binary, one stream, into fresh unindexed tables created in the same transaction (rolled back after).

    Parsing is not in it (it runs first, untimed); encoding the Arrow batches is, as in every bulk load here.
    Machines of this kind differ by up to 3x from day to day: a stage's multiple of this floor is what compares.
    """
    import psycopg

    from financeops_pipeline.db.connect import encoder_for
    from financeops_pipeline.imports.detect import parse_file
    from financeops_pipeline.landing import SOURCES, day_files

    tables = [parse_file(path.read_bytes(), path.name).to_arrow()
              for source in SOURCES for path in day_files(landing, TENANT, DAY, source)]
    with measured("floor: COPY the parsed records once (1 stream)") as floor, \
            psycopg.connect(database_url, application_name="financeops-bench-floor") as conn:
        for i, arrow in enumerate(tables):
            encoder = encoder_for(arrow.schema)
            conn.execute(encoder.schema().ddl(f"bench_floor_{i}"))
            with conn.cursor().copy(f"COPY bench_floor_{i} FROM STDIN WITH (FORMAT BINARY, FREEZE)") as copy:
                copy.write(encoder.write_header())
                for batch in arrow.to_batches(max_chunksize=100_000):
                    copy.write(encoder.write_batch(batch))
                copy.write(encoder.finish())
        conn.rollback()
    floor.rows = sum(t.num_rows for t in tables)
    floor.note = f"{len(tables)} tables, binary COPY FREEZE into tables created in the transaction"
    log(f"  floor: {floor.seconds:.1f} s")
    return floor


def bench_posting(database_url: str, transactions: int, workdir: Path, log: Callable[[str], None] = print,
                  seed: int = 1) -> list[Stage]:
    """Import and post one generated day (no reconciliation): posting throughput and peak memory."""
    from financeops_pipeline.db.migrate import migrate

    generated = _generate(workdir / "landing", transactions, seed, log)
    migrate(database_url)
    per_file, stages = _import_and_post(database_url, workdir / "landing", workdir / "archive", log)
    return [generated, *per_file, *stages]


@dataclass
class DayBench:
    """The figures of one whole day: every printed stage, and the day's four stages against the floor."""

    transactions: int
    floor: Stage
    stages: dict[str, Stage]          # imports, posting, reconciliation, reports: the day's sum
    printed: list[Stage]              # every line of the table, in order

    @property
    def whole_day_seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages.values())

    def to_json(self) -> dict[str, object]:
        """The figures as `financeops bench --only day --json FILE` writes them."""
        return {
            "transactions": self.transactions,
            "floor_s": round(self.floor.seconds, 3),
            "floor_rows": self.floor.rows,
            "whole_day_s": round(self.whole_day_seconds, 3),
            "whole_day_x_floor": round(self.whole_day_seconds / self.floor.seconds, 2),
            "peak_rss_mb": round(max(s.peak_rss for s in self.printed) / 2**20),
            "stages": {name: {"wall_s": round(stage.seconds, 3),
                              "x_floor": round(stage.seconds / self.floor.seconds, 2),
                              "rows": stage.rows, "peak_rss_mb": round(stage.peak_rss / 2**20)}
                       for name, stage in self.stages.items()},
        }


def bench_day(database_url: str, transactions: int, workdir: Path, log: Callable[[str], None] = print,
              seed: int = 1) -> DayBench:
    """Generate one day of `transactions` internal transactions, measure the floor, then run the day through
    every stage as the assets do, and return the figures."""
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
    floor = measure_floor(database_url, landing, log)

    config = load_recon_config()
    with tenant_connection(database_url, TENANT, application_name="financeops-bench") as conn:
        per_file, (imports, posting) = _import_and_post(database_url, landing, workdir / "archive", log)
        archive = workdir / "archive"
        recon_parts = []
        with measured("  recon: window of record files") as stage:
            inputs = load_inputs(conn, archive, TENANT, DAY, config)
        items = stage.rows = inputs.item_count()
        recon_parts.append(stage)
        with measured("  recon: three-way match (DuckDB over Parquet)") as match:
            result = reconcile(inputs, DAY, config)
        match.rows = items
        match.note = _counts(result.counts())
        recon_parts.append(match)
        with measured("  recon: results -> Parquet + Postgres") as stage:
            write_results(conn, archive, TENANT, DAY, result, RUN_ID)
        stage.rows = result.item_status.num_rows + result.breaks.num_rows
        stage.note = "every state to Parquet; open states, breaks, totals to Postgres"
        recon_parts.append(stage)
        del result
        recon = Stage("reconciliation (read + match + write)", seconds=sum(s.seconds for s in recon_parts),
                      peak_rss=max(s.peak_rss for s in recon_parts), rows=items, note="the three lines above")
        log(f"  reconciliation: {recon.seconds:.1f} s")
        with measured("reports (all 7, published)") as reports:
            reports.rows = sum(len(rows) for name in REPORT_CATALOG
                               for rows in build_sections(conn, name, TENANT, DAY).values())

    day = DayBench(transactions, floor, {"imports": imports, "posting": posting, "reconciliation": recon,
                                         "reports": reports}, [])
    whole = Stage("whole day end to end", seconds=day.whole_day_seconds,
                  peak_rss=max(s.peak_rss for s in [imports, posting, *recon_parts, reports]), rows=transactions,
                  note="rows = internal transactions")
    for stage in (*day.stages.values(), whole):
        stage.extra["x_floor"] = stage.seconds / floor.seconds
    if items > PANDAS_MAX_ITEMS:
        naive = Stage("pandas baseline (same inputs)", rows=items,
                      note=f"skipped above {PANDAS_MAX_ITEMS:,} items: pandas needs several times the inputs' memory")
    else:
        in_memory = inputs.to_arrow()   # the same rows, read into Arrow first (not timed)
        with measured("pandas baseline (same inputs)") as naive:
            naive_counts = reconcile_pandas(in_memory)
        naive.rows = items
        naive.note = f"{naive.seconds / match.seconds:.1f}x the DuckDB match; {_counts(naive_counts)}"
    day.printed = [generated, floor, *per_file, imports, posting, *recon_parts, recon, reports, whole, naive]
    return day


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))

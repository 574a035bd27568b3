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
# The pandas baseline holds several copies of its inputs: above this many items both it and the DuckDB match run
# side by side on a slice of the day's inputs (every record whose processor reference hashes into 1 of n
# buckets, so the slice keeps its pairs), of about SLICE_ITEMS items.
PANDAS_MAX_ITEMS = 4_000_000
SLICE_ITEMS = 2_000_000


IMPORT_WORKERS = 2   # the daily job's import step imports two sources at a time (assets/imports.py)


def _import_day(database_url: str, landing: Path, archive: Path, log: Callable[[str], None]
                ) -> tuple[list[Stage], Stage]:
    """Import every file of the generated day as the daily job does: each source's files in order on a connection
    of its own, two sources at a time. Returns the per-file figures (overlapping in time, so not part of the
    day's sum) and the stage of all imports as one."""
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.imports.loader import import_files
    from financeops_pipeline.landing import day_files

    def import_source(source: str) -> list[Stage]:
        stages = []
        paths = day_files(landing, TENANT, DAY, source)
        with tenant_connection(database_url, TENANT, application_name="financeops-bench") as conn:
            outcomes = import_files(conn, TENANT, paths, DAY, RUN_ID, archive)
            while True:   # each file's line: from the end of the one before (the next file is read meanwhile)
                with measured(f"import {source}") as stage:
                    outcome = next(outcomes, None)
                if outcome is None:
                    break
                stage.name, stage.rows = f"  import {outcome.format}", outcome.records_loaded
                stage.note = f"{Path(outcome.path).stat().st_size / 1e6:,.0f} MB, {outcome.status}; {_steps(outcome)}"
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
    return per_file, imports


def _import_and_post(database_url: str, landing: Path, archive: Path,
                     log: Callable[[str], None]) -> tuple[list[Stage], list[Stage]]:
    """Import every file of the generated day (`_import_day`), then post it: the first two stages of the day.
    Returns the per-file figures and the day's stages (all imports as one, then posting)."""
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.ledger.posting import post_day_in_slices, posting_slices

    per_file, imports = _import_day(database_url, landing, archive, log)
    connect = partial(tenant_connection, database_url, TENANT, application_name="financeops-bench")
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

    Parsing is not in it (each file is parsed just before its COPY, untimed, and dropped after it: one file's
    records in memory at a time); encoding the Arrow batches is, as in every bulk load here. Machines of this kind
    differ by up to 3x from day to day: a stage's multiple of this floor is what compares.
    """
    import time

    import psycopg

    from financeops_pipeline.db.connect import encoder_for, write_binary_copy
    from financeops_pipeline.imports.detect import parse_file
    from financeops_pipeline.landing import SOURCES, day_files

    paths = [path for source in SOURCES for path in day_files(landing, TENANT, DAY, source)]
    rows, copying = 0, 0.0
    with measured("floor: COPY the parsed records once (1 stream)") as floor, \
            psycopg.connect(database_url, application_name="financeops-bench-floor") as conn:
        for i, path in enumerate(paths):
            arrow = parse_file(path.read_bytes(), path.name).take_arrow()
            started = time.perf_counter()
            encoder = encoder_for(arrow.schema)
            conn.execute(encoder.schema().ddl(f"bench_floor_{i}"))
            with conn.cursor().copy(f"COPY bench_floor_{i} FROM STDIN WITH (FORMAT BINARY, FREEZE)") as copy:
                write_binary_copy(copy, encoder, arrow.to_batches(max_chunksize=100_000))
            copying += time.perf_counter() - started
            rows += arrow.num_rows
            del arrow
        conn.rollback()
    floor.seconds = copying   # the COPYs alone (the block's peak memory includes each file's parse)
    floor.rows = rows
    floor.note = f"{len(paths)} tables, binary COPY FREEZE into tables created in the transaction"
    log(f"  floor: {floor.seconds:.1f} s")
    return floor


def bench_imports(database_url: str, transactions: int, workdir: Path, log: Callable[[str], None] = print,
                  seed: int = 1) -> list[Stage]:
    """Generate one day, measure the floor, then import the day as the daily job does (the import stage alone, for
    quick iterations on it): the generation, the floor, each file, and all imports with their multiple of the
    floor."""
    from financeops_pipeline.db.migrate import migrate

    landing = workdir / "landing"
    generated = _generate(landing, transactions, seed, log)
    migrate(database_url)
    floor = measure_floor(database_url, landing, log)
    per_file, imports = _import_day(database_url, landing, workdir / "archive", log)
    imports.extra["x_floor"] = imports.seconds / floor.seconds
    return [generated, floor, *per_file, imports]


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
    # the DuckDB match and the pandas baseline side by side on the same inputs (the day's, or a slice of them)
    baseline: dict[str, object] | None = None

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
            "match_vs_pandas": self.baseline,
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
        stage.rows = result.item_count + result.breaks.num_rows
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
        buckets = -(-items // SLICE_ITEMS)
        sliced = _slice(inputs, buckets)   # read into Arrow first (not timed)
        with measured(f"  DuckDB match, same 1/{buckets} slice") as duck:
            reconcile(sliced, DAY, config)
        duck.rows = sliced.item_count()
        compared = [duck]
        label = f"pandas baseline (1/{buckets} slice by reference)"
    else:
        sliced, duck, compared, buckets = inputs.to_arrow(), match, [], 1   # the same rows, in Arrow (not timed)
        label = "pandas baseline (same inputs)"
    with measured(label) as naive:
        naive_counts = reconcile_pandas(sliced)
    naive.rows = duck.rows
    ratio = naive.seconds / duck.seconds
    naive.note = f"{ratio:.1f}x the DuckDB match ({duck.seconds:.2f} s); {_counts(naive_counts)}"
    day.baseline = {"items": duck.rows, "slice": f"1/{buckets}", "duckdb_s": round(duck.seconds, 3),
                    "pandas_s": round(naive.seconds, 3), "pandas_over_duckdb": round(ratio, 2)}
    del sliced
    day.printed = [generated, floor, *per_file, imports, posting, *recon_parts, recon, reports, whole, *compared,
                   naive]
    return day


# A file's import steps as the bench prints them (seconds of each: read = read + hash + archive, parse = the
# parser, copy = binary COPY into the file's fresh partition, index = its indexes + ANALYZE, attach = the
# checker + ATTACH (check_attach), parquet = the record file, written on another thread during the COPY, commit).
_STEPS = ("read", "parse", "totals", "copy", "index", "check_attach", "parquet", "commit")


def _steps(outcome) -> str:
    return " ".join(f"{step} {outcome.timings[step]:.2f}" for step in _STEPS if step in outcome.timings)


def _slice(inputs, buckets: int):
    """The inputs' records whose processor reference (internal records, processor lines) falls in one of
    `buckets` hash buckets, in Arrow; every bank line."""
    import duckdb

    from financeops_pipeline.reconciliation.engine import ReconInputs, _register_source

    con = duckdb.connect(config={"threads": 2})
    try:
        tables = {}
        for source, rows, key in (("internal", inputs.internal, "processor_reference"),
                                  ("processor", inputs.processor, "reference"), ("bank", inputs.bank, None)):
            _register_source(con, f"{source}_rows", source, rows)
            where = f" WHERE hash({key}) % {buckets} = 0" if key else ""
            tables[source] = con.sql(f"SELECT * FROM {source}_rows{where}").to_arrow_table()   # noqa: S608
    finally:
        con.close()
    return ReconInputs(**tables, prev_breaks=inputs.prev_breaks, bank_superseded=inputs.bank_superseded,
                       resolutions=inputs.resolutions)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))

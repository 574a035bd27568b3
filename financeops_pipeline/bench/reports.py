"""Report query speed with a large ledger: fill a fresh database with N postings, then time every report query
of one tenant-day (the README's "each report query for one day returns in under 50 ms with 50M postings").

The fill is synthetic but goes through the normal ledger tables as the owner, set-based
(`reports/sql/bench_fill.sql`: INSERT ... SELECT from generate_series, a range of days per transaction), so the
balance trigger checks every entry and maintains `ledger.daily_balances` exactly as posting does. Reconciliation
and settlement rows are added for the last RECON_DAYS days (the report queries read one day's partition);
statements and breaks for every day.

    python -m financeops_pipeline.bench.reports --postings 1000000
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from collections.abc import Callable

import psycopg

from financeops_pipeline.sqlfiles import load_named_sql, load_sql

TENANTS = ("bench_a", "bench_b")
DAYS = 730                       # two years of history
RECON_DAYS = 45                  # days with reconciliation / settlement rows (ages up to >30 days)
BREAKS_PER_DAY = 300
# Days per transaction. The balance trigger costs, per statement, one pass over the new postings per day they
# cover (snapshots are maintained day by day) plus two hash joins against all journal entries (existence and
# same-transaction checks): few days per statement repeat the second, many days repeat the first.
CHUNK_DAYS = 30
CHUNK_POSTINGS = 4_000_000
RUNS = 9                         # timed executions per query (after one warm-up)
FIRST_DAY = dt.date(2025, 1, 1)


def _fill_sql() -> dict[str, str]:
    return load_named_sql("reports/sql/bench_fill.sql")


def fill(database_url: str, postings: int, log: Callable[[str], None] = print) -> dt.date:
    """Migrate the empty database at `database_url` and fill it; returns the last business day."""
    from financeops_pipeline.db.migrate import migrate

    migrate(database_url)
    q = _fill_sql()
    last_day = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    per_day = max(1, postings // (2 * DAYS * len(TENANTS)))          # entries per tenant-day, 2 postings each
    days_per_chunk = max(1, min(CHUNK_DAYS, CHUNK_POSTINGS // (2 * per_day * len(TENANTS))))
    started = time.perf_counter()
    next_id = 1
    with psycopg.connect(database_url) as conn:
        conn.execute("SET synchronous_commit = off")
        for tenant in TENANTS:
            conn.execute("SELECT ops.register_tenant(%s)", (tenant,))
            conn.execute(q["accounts"], {"tenant": tenant})
            conn.execute(q["bank_statements"], {"tenant": tenant, "start": FIRST_DAY, "end": last_day})
            conn.execute(q["breaks"], {"tenant": tenant, "start": FIRST_DAY, "end": last_day,
                                       "per_day": BREAKS_PER_DAY})
        conn.commit()
        for table in ("recon.item_status",):   # the imports tables are partitioned by file (0026), not by day
            # every day's partition exists, as in production (planning prunes to the day); a few days per
            # transaction, since each new partition holds locks until commit
            for offset in range(0, DAYS, 20):
                start = FIRST_DAY + dt.timedelta(days=offset)
                conn.execute("SELECT ops.ensure_day_partition(%s::regclass, d::date) FROM generate_series("
                             "%s::date, %s::date, interval '1 day') AS d",
                             (table, start, min(last_day, start + dt.timedelta(days=19))))
                conn.commit()
        for offset in range(0, DAYS, days_per_chunk):
            days = min(days_per_chunk, DAYS - offset)
            params = {"tenants": list(TENANTS), "start": FIRST_DAY + dt.timedelta(days=offset), "per_day": per_day,
                      "n": per_day * days, "first_id": next_id}
            with conn.transaction():
                conn.execute(q["entries"], params)
                conn.execute(q["postings"], params)
            next_id += per_day * days * len(TENANTS)
            done = 2 * (next_id - 1)
            log(f"  {done:,} postings ({offset + days}/{DAYS} days) {time.perf_counter() - started:.0f} s")
        conn.execute("SELECT setval('ledger.entry_id_seq', %s)", (next_id,))
        recon_per_day = max(10, 2 * per_day)      # matched, pending, ... items of the day (both sides)
        lines_per_day = max(10, per_day)
        for tenant in TENANTS:
            for i in range(RECON_DAYS):
                day = last_day - dt.timedelta(days=i)
                conn.execute(q["item_status"], {"tenant": tenant, "start": day, "per_day": recon_per_day})
                conn.execute(q["processor_lines"], {"tenant": tenant, "start": day, "per_day": lines_per_day})
                conn.execute(q["file_totals"], {"tenant": tenant, "start": day})
                conn.execute(q["day_totals"], {"tenant": tenant, "start": day})
        conn.commit()
    log(f"  reconciliation and settlement rows {time.perf_counter() - started:.0f} s")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # autovacuum would have done this on a live database: statistics and the visibility map
        # (index-only scans) of what the reports read
        for table in ("ledger.daily_balances", "ledger.accounts", "imports.bank_statements", "recon.breaks",
                      "recon.item_status", "imports.processor_lines", "ledger.journal_entries_legacy",
                      "ledger.postings_legacy"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  filled {2 * (next_id - 1):,} postings, {per_day:,} entries per tenant-day, in "
        f"{time.perf_counter() - started:.0f} s")
    return last_day


def report_queries() -> dict[str, tuple[str, dict]]:
    """Every report query of the catalog (one per stored section) plus the one-day drill-down: name -> (SQL,
    extra parameters)."""
    from financeops_pipeline.reports.build import REPORTS
    from financeops_pipeline.reports.catalog import REPORT_CATALOG

    tables = [s.table for r in REPORT_CATALOG.values() for s in r.sections]
    assert sorted(tables) == sorted(REPORTS), "catalog and build.REPORTS disagree"
    queries = {t: (load_sql(REPORTS[t]), {}) for t in tables}
    # the drill-down of a one-day line (income statement): timed through reports.drill.postings_behind
    queries[DRILL] = (load_sql("reports/sql/drill_postings.sql"),
                      {"account": "cash:bank_usd", "currency": None, "since": "day"})
    return queries


DRILL = "drill-down (one day)"


_SCAN = re.compile(r"((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan)"
                   r"(?: using \S+)? on \S+)")


def time_queries(database_url: str, tenant: str, day: dt.date, runs: int = RUNS) -> list[dict]:
    """Median and max wall time (client round trip included) of each report query for one tenant-day, run as the
    tenant's role (row-level security on, as the report assets run), with the scans of its plan."""
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.reports.drill import postings_behind

    out = []
    with tenant_connection(database_url, tenant, application_name="financeops-bench") as conn:
        for name, (query, extra) in report_queries().items():
            params = {"tenant": tenant, "day": day} | {k: (day if v == "day" else v) for k, v in extra.items()}
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall())
            # one entry per scan kind and table (day partitions folded into <table>_p*)
            scans = sorted({re.sub(r"_p\d{6}\S*", "_p*", s) for s in _SCAN.findall(plan)})
            times, rows = [], 0
            for i in range(runs + 1):
                t0 = time.perf_counter()
                if name == DRILL:
                    rows = len(postings_behind(conn, tenant, params["account"], day, None, day))
                else:
                    rows = len(conn.execute(query, params).fetchall())
                if i:                     # the first run warms the cache and the prepared statement
                    times.append((time.perf_counter() - t0) * 1000)
            conn.rollback()
            out.append({"report": name, "median_ms": round(statistics.median(times), 2),
                        "max_ms": round(max(times), 2), "rows": rows,
                        "seq_scans": [s for s in scans if "Seq Scan" in s],
                        "index_scans": [s for s in scans if "Seq Scan" not in s]})
    return out


def bench_report_queries(database_url: str, postings: int = 50_000_000,
                         log: Callable[[str], None] = print) -> list[dict]:
    """Fill the empty database at `database_url` with `postings` postings (see module doc), then time every
    report query for the last day of one tenant. Rows: {"report", "median_ms", "max_ms", "rows", ...}."""
    log(f"filling {postings:,} postings over {DAYS} days, {len(TENANTS)} tenants")
    t0 = time.perf_counter()
    day = fill(database_url, postings, log)
    fill_s = time.perf_counter() - t0
    results = time_queries(database_url, TENANTS[0], day)
    for r in results:
        r["postings"] = postings
        r["fill_s"] = round(fill_s)
    return results


def format_table(results: list[dict]) -> str:
    lines = [f"{'report query':<26} {'median ms':>10} {'max ms':>8} {'rows':>6}  plan"]
    for r in results:
        plan = ", ".join(r["seq_scans"] + r["index_scans"])
        lines.append(f"{r['report']:<26} {r['median_ms']:>10.2f} {r['max_ms']:>8.2f} {r['rows']:>6}  {plan}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import tempfile
    from pathlib import Path

    from financeops_pipeline.db.server import postgres

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postings", type=int, default=50_000_000)
    parser.add_argument("--home", type=Path, help="embedded server home (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="financeops-bench-") as tmp, postgres(args.home or Path(tmp)) as target:
        with psycopg.connect(target.admin_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_reports WITH (FORCE)")
            conn.execute("CREATE DATABASE bench_reports")
            if target.embedded and not args.home:
                # our own throw-away server: fewer checkpoints during the bulk fill (reloadable, no restart)
                conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
                conn.execute("SELECT pg_reload_conf()")
        results = bench_report_queries(target.url("bench_reports"), args.postings)
        print(format_table(results))
        print(f"{args.postings:,} postings; fill {results[0]['fill_s']} s; slowest median "
              f"{max(r['median_ms'] for r in results):.2f} ms")


if __name__ == "__main__":
    main()

"""The report-query benchmark (bench/reports.py) on a small ledger: the fill goes through the ledger's own trigger
and leaves a consistent ledger, and every report query of the catalog is timed through indexes. Slow (the fill
creates two years of day partitions); timings are reported by the benchmark, never asserted."""

from __future__ import annotations

import pytest

from financeops_pipeline.bench.reports import DRILL, TENANTS, bench_report_queries
from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.quality.checks import run_check
from financeops_pipeline.reports.catalog import REPORT_CATALOG
from tests.conftest import query


@pytest.mark.slow
def test_bench_fills_a_consistent_ledger_and_times_every_report_query(db_url):
    lines: list[str] = []
    results = bench_report_queries(db_url, postings=40_000, log=lines.append)
    # 40,000 // (2 postings x 730 days x 2 tenants) = 13 entries per tenant-day -> 2 x 13 x 730 x 2 = 37,960
    assert query(db_url, "SELECT count(*) FROM ledger.postings")[0][0] == 37_960
    expected = {s.table for r in REPORT_CATALOG.values() for s in r.sections} | {DRILL}
    assert {r["report"] for r in results} == expected
    for r in results:
        assert r["rows"] > 0 and r["median_ms"] <= r["max_ms"], r
        # nothing reads the ledger or the breaks without an index (a whole day partition may be read: its rows
        # are exactly the day's)
        assert not [s for s in r["seq_scans"] if any(t in s for t in (
            "daily_balances", "postings", "journal_entries", "breaks", "bank_statements"))], r
    day = max(query(db_url, "SELECT max(business_date) FROM ledger.postings")[0])
    for tenant in TENANTS:
        with tenant_connection(db_url, tenant) as conn:
            assert run_check(conn, "ledger_balanced", tenant, day) == []
            assert run_check(conn, "snapshots_match_postings", tenant, day) == []
    assert any("filled 37,960 postings" in line for line in lines)

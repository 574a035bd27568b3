"""Every report and quality query of one tenant-day reads through indexes or only the tenant-day's own partitions
(EXPLAIN on the sample database with sequential scans priced out: a table without a usable index would still show
a Seq Scan). The imported records are one partition per file (migration 0026): a check of the whole day reads the
day's files whole, which is the plan wanted, and the empty default partition (rows written by hand) is read too."""

from __future__ import annotations

import datetime as dt
import re

import psycopg
import pytest

from financeops_pipeline.quality.checks import check_sql
from financeops_pipeline.quality.record_coverage import TEMP_TABLE, load_records_without_first_leg
from financeops_pipeline.reports.build import REPORTS
from financeops_pipeline.sqlfiles import load_named_sql, load_sql

QUERIES = {**{name: path for name, path in REPORTS.items()},
           "drill_postings": "reports/sql/drill_postings.sql",
           "income_statement_period": "reports/sql/income_statement_period.sql",
           **{f"drill_source_records:{kind}": "reports/sql/drill_source_records.sql"
              for kind in ("internal", "processor", "bank")},
           **{name: f"quality/sql/{name}.sql" for name in (
               "cash_matches_bank", "no_duplicate_idempotency_keys", "source_records_posted",
               "statement_integrity")}}
PARAMS = {"tenant": "acme", "day": dt.date(2026, 11, 4), "account": "cash:123456789", "currency": None,
          "since": None, "start": dt.date(2026, 11, 1), "shas": ["a" * 64], "positions": ["line 2"]}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_uses_indexes(sample, name):
    with psycopg.connect(sample.url) as conn:
        conn.execute("SET enable_seqscan = off")
        path = QUERIES[name]
        text = (load_named_sql(path)[name.split(":")[1]] if ":" in name
                else check_sql(name) if path.startswith("quality/") else load_sql(path))
        if TEMP_TABLE in text:   # the record check's records left by record_coverage (a few rows: read whole)
            load_records_without_first_leg(conn, PARAMS["tenant"], PARAMS["day"])
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + text, PARAMS).fetchall())
    day = f"{PARAMS['day']:%Y%m%d}_{PARAMS['tenant']}_"
    # the drill reads the tenant's transfer partitions of the days in range whole (drill_postings.sql: one scan of
    # each, a partition being one tenant-day batch); before migration 0096 the plan read them through the parent
    # index's parts instead (entry_id first: every entry of the partition, the same rows), the only index there was
    whole = f"transfers_{PARAMS['tenant']}_" if name == "drill_postings" else None
    scans = [t for t in re.findall(r"Seq Scan on (\S+)", plan)
             if day not in t and not t.endswith("_unfiled") and t != TEMP_TABLE
             and not (whole and t.startswith(whole))]
    assert scans == [], plan

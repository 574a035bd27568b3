"""A tenant's date range runs as one Dagster run with the days in date order, and re-running a day that a
later day already used leaves the later day's results unchanged."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from financeops_pipeline.orchestration.definitions import defs
from financeops_pipeline.orchestration.partitions import range_tags, tenant_day_key, tenant_day_partitions
from tests.conftest import SAMPLES, query

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
D2, D3, D4 = dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)


@pytest.fixture
def env(db_url, tmp_path, monkeypatch) -> str:
    for key, value in {"FINANCEOPS_DB_URL": db_url, "FINANCEOPS_DATA_DIR": str(SAMPLES),
                       "FINANCEOPS_ARCHIVE_DIR": str(tmp_path / "archive"), "FINANCEOPS_TENANTS": ""}.items():
        monkeypatch.setenv(key, value)
    return db_url


def _core_job() -> dg.JobDefinition:
    # the core graph (imports -> ledger -> recon -> reports with their checks); the SQL models test themselves
    return defs.resolve_job_def("daily_close")


def _run(instance: dg.DagsterInstance, **kwargs) -> dg.ExecuteInProcessResult:
    selection = [key for key in defs.resolve_asset_graph().get_all_asset_keys() if key.path[0] != "models"]
    result = _core_job().execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False,
                                            asset_selection=selection, **kwargs)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _day_rows(db_url: str, tenant: str, day: dt.date) -> dict[str, list[str]]:
    """Every row of the tenant-day in each ledger / recon / reports table that has a business_date, run ids and
    timestamps aside."""
    tables = query(db_url, "SELECT table_schema, table_name, string_agg(quote_ident(column_name), ', '"
                           " ORDER BY ordinal_position)"
                           " FILTER (WHERE column_name <> 'run_id' AND column_name NOT LIKE '%%\\_at')"
                           " FROM information_schema.columns WHERE table_schema IN ('ledger', 'recon', 'reports')"
                           " GROUP BY 1, 2 HAVING bool_or(column_name = 'business_date')"
                           " AND bool_or(column_name = 'tenant')")
    assert len(tables) >= 10, tables   # postings, balances, matches, item_status, breaks, the reports ...
    return {f"{s}.{t}": sorted(map(repr, query(db_url, f"SELECT {cols} FROM {s}.{t}"
                                                       " WHERE tenant = %s AND business_date = %s", (tenant, day))))
            for s, t, cols in tables if not t[-1].isdigit() and "_p20" not in t}


def test_a_range_is_one_run_in_date_order_and_rerunning_a_used_day_changes_no_later_day(env):
    db_url = env
    with dg.instance_for_test() as instance:
        backfill = _run(instance, tags=range_tags(D2, D4, ["acme"]))
        assert len(instance.get_run_records()) == 1
        ledger = dg.AssetKey(["ledger", "journal_entries"])
        done = sorted(m.partition for m in backfill.asset_materializations_for_node("ledger__journal_entries"))
        assert done == [str(tenant_day_key(d, "acme")) for d in (D2, D3, D4)]
        # inside the run the days were posted and reconciled in date order (ids and clocks increase by day)
        posted = query(db_url, "SELECT business_date, min(entry_id), max(entry_id) FROM ledger.journal_entries"
                               " GROUP BY 1 ORDER BY 1")
        assert [d for d, *_ in posted] == [D2, D3, D4]
        assert all(posted[i][2] < posted[i + 1][1] for i in range(2)), posted
        reconciled = query(db_url, "SELECT business_date FROM recon.runs ORDER BY computed_at")
        assert [d for d, in reconciled] == [D2, D3, D4]
        # only acme's tenant-days of the range were touched
        assert instance.get_materialized_partitions(ledger) == {str(tenant_day_key(d, "acme")) for d in (D2, D3, D4)}
        assert query(db_url, "SELECT DISTINCT tenant FROM ledger.journal_entries") == [("acme",)]

        before = {day: _day_rows(db_url, "acme", day) for day in (D3, D4)}
        assert all(before[D4][t] for t in ("recon.breaks", "reports.recon_summary", "ledger.daily_balances"))

        # re-run 11-03 alone (its breaks, statements and balances were carried into 11-04)
        _run(instance, partition_key=tenant_day_key(D3, "acme"))
        after = {day: _day_rows(db_url, "acme", day) for day in (D3, D4)}
        assert after == before


def test_a_backfill_of_all_tenants_over_days_is_one_range_per_tenant():
    """How Dagster splits a backfill's tenant-days into single runs (what the daemon and the UI do): by the
    dimension with fewer values, so tenants x days gives one run per tenant covering all the days."""
    keys = [str(tenant_day_key(d, t)) for t in ("acme", "globex") for d in (D2, D3, D4)]
    ranges = tenant_day_partitions.empty_subset().with_partition_keys(keys).get_partition_key_ranges(
        tenant_day_partitions)
    assert sorted((str(r.start), str(r.end)) for r in ranges) == [
        (str(tenant_day_key(D2, "acme")), str(tenant_day_key(D4, "acme"))),
        (str(tenant_day_key(D2, "globex")), str(tenant_day_key(D4, "globex")))]
    one_day = [str(tenant_day_key(D3, t)) for t in ("acme", "globex")]
    assert [(str(r.start), str(r.end)) for r in tenant_day_partitions.empty_subset().with_partition_keys(
        one_day).get_partition_key_ranges(tenant_day_partitions)] == [tuple(one_day)]

"""One run of the whole graph over the sample days, shared by the report and quality tests, and a helper
that materializes a chosen part of the graph (assets and/or checks) for one day through Dagster."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from tests.conftest import SAMPLES

DAYS = ["2026-11-02", "2026-11-03", "2026-11-04"]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
_SAMPLE_DB = "fo_reports_sample"
_cache: dict[str, SampleRun] = {}


@dataclass
class SampleRun:
    url: str
    results: dict[str, dg.ExecuteInProcessResult]   # by partition key
    archive: Path                                     # raw files, record files, reconciliation states


def pipeline_environment(db_url: str, data_dir: Path, archive: Path, tenants: str = "") -> dict[str, str]:
    return {"FINANCEOPS_DB_URL": db_url, "FINANCEOPS_DATA_DIR": str(data_dir),
            "FINANCEOPS_ARCHIVE_DIR": str(archive), "FINANCEOPS_TENANTS": tenants}


def sample_run(pg_target, tmp_root: Path) -> SampleRun:
    """The daily_close job for the three sample days into a database of its own (built once per session)."""
    if "run" in _cache:
        return _cache["run"]
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_SAMPLE_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {_SAMPLE_DB} TEMPLATE fo_template")
    url = pg_target.url(_SAMPLE_DB)
    # imports -> ledger -> reconciliation -> reports with every check of those stages (not the SQL models,
    # which test themselves), one run per day in date order as the daily schedule does
    results = {day: materialize(url, day, whole=True, archive=tmp_root / "archive") for day in DAYS}
    for day, result in results.items():
        assert result.success, day
    _cache["run"] = SampleRun(url, results, tmp_root / "archive")
    return _cache["run"]


def _close_pools() -> None:
    """A database with open sessions cannot be a template: end the process's pooled sessions first."""
    try:
        from financeops_pipeline.db.pools import close_pools
    except ImportError:   # no connection pools in this version
        return
    close_pools()


def clone_sample(pg_target, sample: SampleRun, name: str) -> str:
    """A scratch copy of the sample database, to break on purpose."""
    _close_pools()
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_SAMPLE_DB}")
    return pg_target.url(name)


def drop_database(pg_target, name: str) -> None:
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def materialize(db_url: str, day: str, *, assets: list[str] = (), checks: list[tuple[str, str]] = (),
                data_dir: Path = SAMPLES, archive: Path | None = None, tenants: str = "",
                env: dict[str, str] | None = None, whole: bool = False) -> dg.ExecuteInProcessResult:
    """Run the named assets ('ledger/journal_entries') and checks (('ledger/journal_entries', 'check_name'))
    of the code location for one partition. Checks alone (their asset not re-run, so a planted bad row stays
    as planted) run next to a no-op partitioned probe asset, since Dagster takes the partitions of a run from
    its selected assets."""
    from financeops_pipeline.orchestration import partitions
    from financeops_pipeline.orchestration.checks import asset_checks
    from financeops_pipeline.orchestration.definitions import ALL_ASSETS
    from financeops_pipeline.orchestration.resources import default_resources

    # Partitioned by day, or by tenant-day: then the run is the day's range over the chosen tenants.
    tenant_days = getattr(partitions, "tenant_day_partitions", None)
    if tenant_days is not None:
        chosen = [t for t in tenants.split(",") if t] or partitions.tenant_partitions.get_partition_keys()
        day_date = dt.date.fromisoformat(day)
        run = {"tags": partitions.range_tags(day_date, day_date, chosen)}
    else:
        run = {"partition_key": day}

    @dg.asset(partitions_def=tenant_days or partitions.daily_partitions, key=["test_probe"],
              backfill_policy=dg.BackfillPolicy.single_run())
    def probe() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    everything = [*ALL_ASSETS, *asset_checks]
    check_keys = [dg.AssetCheckKey(dg.AssetKey.from_user_string(a), c) for a, c in checks]
    if whole:
        selection = dg.AssetSelection.assets(*[k for a in ALL_ASSETS for k in a.keys])
    else:
        selection = (dg.AssetSelection.assets(probe, *[dg.AssetKey.from_user_string(a) for a in assets])
                     .without_checks() | dg.AssetSelection.checks(*check_keys))
    environment = pipeline_environment(db_url, data_dir, archive or Path(os.environ["FINANCEOPS_HOME"]) / "arch",
                                       tenants) | (env or {})
    with pytest.MonkeyPatch.context() as mp:
        for key, value in environment.items():
            mp.setenv(key, value)
        return dg.materialize([*everything, probe], selection=selection, resources=default_resources(),
                              run_config=QUIET, raise_on_error=False, **run)


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """Check evaluations of a run by 'asset/check'."""
    return {f"{e.asset_key.to_user_string()}/{e.check_name}": e for e in result.get_asset_check_evaluations()}


def md(evaluation: dg.AssetCheckEvaluation, key: str = "details") -> str:
    return evaluation.metadata[key].value

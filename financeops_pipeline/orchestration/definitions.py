"""The financeops code location: every stage's assets, their checks, the daily job and its schedule."""


import dagster as dg

from financeops_pipeline.orchestration.assets.imports import imported_records
from financeops_pipeline.orchestration.assets.ledger import journal_entries
from financeops_pipeline.orchestration.assets.reconciliation import recon_adjustments, three_way_match
from financeops_pipeline.orchestration.assets.reports import REPORT_ASSETS
from financeops_pipeline.orchestration.checks import asset_checks
from financeops_pipeline.orchestration.partitions import tenant_day_partitions
from financeops_pipeline.orchestration.resources import default_resources
from financeops_pipeline.orchestration.schedules import daily_close_schedule
from financeops_pipeline.orchestration.sensors import files_landed_sensor
from financeops_pipeline.orchestration.sql_models import SQL_MODEL_ASSETS, SQL_MODEL_CHECKS

ALL_ASSETS = [imported_records, journal_entries, three_way_match, recon_adjustments,
              *REPORT_ASSETS]

daily_job = dg.define_asset_job(
    "daily_close", selection=dg.AssetSelection.all(), partitions_def=tenant_day_partitions,
    description="Import, post, reconcile and report a range of tenant-days (days in date order within a run).",
)

# A launched run (daemon, UI) executes its steps in its run worker, one after another, as `financeops run` does:
# each step already uses both cores (imports two sources at a time, posting two slices, DuckDB two threads,
# checks two at a time), and a process per step (forkserver) cost more than running the match beside posting
# won: the 1M day took 139-147 s that way against 76-92 s in process, on the same machine back to back.
step_executor = dg.in_process_executor

defs = dg.Definitions(
    assets=[*ALL_ASSETS, *SQL_MODEL_ASSETS],   # SQL models: one asset per dbt_like_sql/**/*.sql
    asset_checks=[*asset_checks, *SQL_MODEL_CHECKS],
    jobs=[daily_job],
    schedules=[daily_close_schedule],
    sensors=[files_landed_sensor],
    resources=default_resources(),
    executor=step_executor,
)

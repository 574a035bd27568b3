"""Starting tenant-days automatically: a sensor when a tenant's files have all landed, and the daily schedule.

Both target the `daily_close` job with one tenant-day partition per run, tagged `financeops/tenant_day`, and
both ask the instance first, so neither starts a day the other (or a backfill, or `financeops run`) already ran:
a tenant-day is *done* when `ledger/journal_entries` has a materialization for it or a run of that partition
succeeded, and *running* while a run of that partition is queued or in progress.
"""


import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from financeops_pipeline.landing import day_landed
from financeops_pipeline.orchestration.partitions import daily_partitions, tenant_day_key, tenant_partitions
from financeops_pipeline.orchestration.resources import FinanceopsResource

JOB = "daily_close"
DONE_ASSET = dg.AssetKey(["ledger", "journal_entries"])
_ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def tenant_day_state(instance: dg.DagsterInstance, tenant: str, day: dt.date) -> str:
    """'done', 'running', 'failed' (the latest run of the partition failed) or 'new'."""
    key = str(tenant_day_key(day, tenant))
    if instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=DONE_ASSET, asset_partitions=[key]),
                                       limit=1).records:
        return "done"
    runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": key}), limit=1)
    if not runs:
        return "new"
    status = runs[0].dagster_run.status
    if status == dg.DagsterRunStatus.SUCCESS:
        return "done"
    return "running" if status in _ACTIVE else "failed"


def tenant_day_request(tenant: str, day: dt.date, trigger: str) -> dg.RunRequest:
    """One tenant-day run; run_key = tenant:day, so the same sensor or schedule never requests it twice."""
    return dg.RunRequest(run_key=f"{tenant}:{day.isoformat()}", partition_key=tenant_day_key(day, tenant),
                         tags={"financeops/tenant_day": f"{tenant}:{day.isoformat()}", "financeops/trigger": trigger})


def partition_today(now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(daily_partitions.timezone)).date()


def lookback_days() -> int:
    return int(os.environ.get("FINANCEOPS_SENSOR_LOOKBACK_DAYS", "7"))


def landed_requests(instance: dg.DagsterInstance, data_dir: Path, tenants: list[str], today: dt.date,
                    lookback: int) -> tuple[list[dg.RunRequest], list[str]]:
    """Per tenant, the earliest landed day of the last `lookback` days that is neither done nor running.

    Days run in date order (breaks, statement continuity and balance snapshots carry forward from the day
    before), so a tenant's next landed day waits while an earlier one is running, and a failed day stops the
    tenant's later days until it is re-run. Days without landed files are skipped (no business that day)."""
    first = max(today - dt.timedelta(days=lookback), daily_partitions.start.date())
    requests, waiting = [], []
    for tenant in tenants:
        day = first
        while day <= today:
            if day_landed(data_dir, tenant, day):
                state = tenant_day_state(instance, tenant, day)
                if state == "new":
                    requests.append(tenant_day_request(tenant, day, "sensor"))
                    break
                if state != "done":
                    waiting.append(f"{tenant} {day} is {state}")
                    break
            day += dt.timedelta(days=1)
    return requests, waiting


@dg.sensor(job_name=JOB, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Starts a tenant's day as soon as its files have all landed (a _READY marker in "
                       "<tenant>/<day>/, or files in each of internal/, processor/ and bank/); never a day "
                       "already done or running; days of a tenant in date order.")
def files_landed_sensor(context: dg.SensorEvaluationContext,
                        financeops: FinanceopsResource) -> dg.SensorResult | dg.SkipReason:
    tenants = [t for t in financeops.tenant_list() if t in tenant_partitions.get_partition_keys()]
    requests, waiting = landed_requests(context.instance, financeops.data_path, tenants,
                                        partition_today(dt.datetime.now(dt.UTC)), lookback_days())
    if not requests:
        return dg.SkipReason("; ".join(waiting) or "no newly landed tenant-day")
    return dg.SensorResult(run_requests=requests)

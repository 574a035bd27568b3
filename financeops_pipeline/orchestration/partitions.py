"""Partitions: one tenant-day each (business day x tenant), so the UI shows every tenant-day's status and a run,
a backfill, a retry or a worker's unit of work is a range of tenant-days.

Definitions are static, so the partitions are read from the environment when the code location loads
(resources read theirs at run time through EnvVar): FINANCEOPS_START_DATE, FINANCEOPS_TIMEZONE, and the tenants
(FINANCEOPS_TENANTS, or every tenant folder under FINANCEOPS_DATA_DIR). No database is needed to load them.
"""


import datetime as dt
import os

import dagster as dg

from financeops_pipeline.landing import discover_tenants
from financeops_pipeline.settings import load_settings

DATE, TENANT = "date", "tenant"   # dimension names; multi-partition keys read "<date>|<tenant>"


def configured_tenants() -> list[str]:
    """FINANCEOPS_TENANTS, or every tenant folder of the landing folder (sorted)."""
    settings = load_settings()
    return sorted(settings.tenants) or discover_tenants(settings.data_dir)


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("FINANCEOPS_START_DATE", "2026-01-01"),
    timezone=os.environ.get("FINANCEOPS_TIMEZONE", "UTC"),
    end_offset=1,   # today's partition exists, so a sensor can start the day as soon as files land
)
tenant_partitions = dg.StaticPartitionsDefinition(configured_tenants())
tenant_day_partitions = dg.MultiPartitionsDefinition({DATE: daily_partitions, TENANT: tenant_partitions})


def tenant_day_key(day: dt.date | str, tenant: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({DATE: str(day), TENANT: tenant})


def range_tags(first: dt.date, last: dt.date, tenants: list[str]) -> dict[str, str]:
    """Run tags selecting days first..last of the given tenants as one run (what a single-run backfill sends).

    A multi-partition range is a rectangle: dates first..last x the tenants between the first and the last given
    (in partition order), so pass one tenant, or all of them."""
    order = tenant_partitions.get_partition_keys()
    unknown = [t for t in tenants if t not in order]
    if unknown:
        raise ValueError(f"tenant(s) {', '.join(unknown)} are not partitions of the code location "
                         f"(known: {', '.join(order) or 'none'}); set FINANCEOPS_TENANTS or FINANCEOPS_DATA_DIR")
    chosen = sorted(tenants, key=order.index)
    return {"dagster/asset_partition_range_start": str(tenant_day_key(first, chosen[0])),
            "dagster/asset_partition_range_end": str(tenant_day_key(last, chosen[-1]))}

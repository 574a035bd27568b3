"""The daily schedule: at FINANCEOPS_SCHEDULE_TIME (HH:MM, default 06:00) in FINANCEOPS_TIMEZONE (the partitions'
timezone: a bank's cut-off is local time), one run per tenant for the previous business day
(FINANCEOPS_BUSINESS_DAYS, default mon-fri), skipping tenant-days already done or running (e.g. started by the
files-landed sensor). Read when the code location loads, like the partitions."""


import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import dagster as dg

from financeops_pipeline.orchestration.partitions import daily_partitions, tenant_partitions
from financeops_pipeline.orchestration.resources import FinanceopsResource
from financeops_pipeline.orchestration.sensors import JOB, tenant_day_request, tenant_day_state

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def schedule_time() -> tuple[int, int]:
    text = os.environ.get("FINANCEOPS_SCHEDULE_TIME", "06:00")
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if not match:
        raise ValueError(f"FINANCEOPS_SCHEDULE_TIME={text!r}: expected HH:MM (24 h), e.g. 06:00")
    return int(match[1]), int(match[2])


def business_days() -> frozenset[int]:
    """Weekday numbers (Monday 0) from FINANCEOPS_BUSINESS_DAYS, e.g. 'mon,tue,wed,thu,fri' or 'mon-fri'."""
    text = os.environ.get("FINANCEOPS_BUSINESS_DAYS", "mon-fri").lower()
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in WEEKDAYS for e in ends):
            raise ValueError(f"FINANCEOPS_BUSINESS_DAYS={text!r}: use mon..sun, comma lists and ranges (mon-fri)")
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        days.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)])
    if not days:
        raise ValueError("FINANCEOPS_BUSINESS_DAYS is empty")
    return frozenset(days)


def previous_business_day(today: dt.date, weekdays: frozenset[int]) -> dt.date:
    day = today - dt.timedelta(days=1)
    while day.weekday() not in weekdays:
        day -= dt.timedelta(days=1)
    return day


_HOUR, _MINUTE = schedule_time()
_BUSINESS_DAYS = business_days()


@dg.schedule(job_name=JOB, cron_schedule=f"{_MINUTE} {_HOUR} * * *", execution_timezone=daily_partitions.timezone,
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Every tenant's previous business day, at FINANCEOPS_SCHEDULE_TIME in FINANCEOPS_TIMEZONE; "
                         "tenant-days already done or running are skipped.")
def daily_close_schedule(context: dg.ScheduleEvaluationContext,
                         financeops: FinanceopsResource) -> list[dg.RunRequest] | dg.SkipReason:
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = previous_business_day(now.astimezone(ZoneInfo(daily_partitions.timezone)).date(), _BUSINESS_DAYS)
    tenants = [t for t in financeops.tenant_list() if t in tenant_partitions.get_partition_keys()]
    states = {t: tenant_day_state(context.instance, t, day) for t in tenants}
    requests = [tenant_day_request(t, day, "schedule") for t, state in states.items() if state == "new"]
    return requests or dg.SkipReason(f"{day}: " + (", ".join(f"{t} {s}" for t, s in states.items()) or "no tenant"))

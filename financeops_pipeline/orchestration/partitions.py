"""Daily partitions: one business day per partition, in the bank's local timezone."""


import os

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("FINANCEOPS_START_DATE", "2026-01-01"),
    timezone=os.environ.get("FINANCEOPS_TIMEZONE", "UTC"),
    end_offset=1,   # today's partition exists, so a sensor can start the day as soon as files land
)

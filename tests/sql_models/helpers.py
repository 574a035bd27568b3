"""Shared by the SQL model tests: materialize a day through Dagster, and read step errors."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from financeops_pipeline.orchestration.partitions import range_tags
from financeops_pipeline.orchestration.resources import FinanceopsResource


def materialize_day(assets: list, day: str, resource: FinanceopsResource) -> dg.ExecuteInProcessResult:
    """One real in-process Dagster run of `assets` (and their check specs) for `day` of every tenant of the
    resource: the partition range the code location's partitions give that tenant-day rectangle."""
    date = dt.date.fromisoformat(day)
    return dg.materialize(assets, tags=range_tags(date, date, resource.tenant_list()),
                          resources={"financeops": resource}, raise_on_error=False)


def step_errors(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Failed step key -> its error messages (the error and its causes), as the UI shows them."""
    out = {}
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        text = []
        while error:
            text.append(error.message)
            error = error.cause
        user = event.step_failure_data.user_failure_data
        if user and user.description:
            text.append(user.description)
        out[event.step_key] = "\n".join(text)
    return out

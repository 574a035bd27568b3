"""Great Expectations suites for the imported, normalized records: one suite per imports table.

Each suite is a plain list of GX 1.x expectations built by a function below, so a data engineer extends a
suite by adding a line. GX is imported lazily (the import costs ~4 s), only when a check runs; anonymous
usage statistics are switched off. Validation runs on a pandas frame of the partition's rows, read as the
tenant's role.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import cache

import psycopg

from financeops_pipeline.imports.records import PROCESSORS
from financeops_pipeline.money import CURRENCY_EXPONENTS

ISO_4217 = sorted(CURRENCY_EXPONENTS)
# Largest single amount a record may carry: 10^12 minor units (10 billion in a 2-decimal currency).
MAX_ABS_MINOR = 10**12

# Columns each suite reads, per imports table.
COLUMNS = {
    "internal_transactions": "transaction_id, created_at, type, amount_minor, currency::text AS currency, processor,"
                             " processor_reference, business_date, file_id, record_no, source_position",
    "processor_lines": "processor, line_id, category, currency::text AS currency, gross_minor, fee_minor, net_minor,"
                       " created_at, business_date, file_id, record_no, source_position",
    "bank_lines": "account_id, currency::text AS currency, amount_minor, booking_date, classification,"
                  " business_date, file_id, record_no, source_position",
}
SOURCE_TABLE = {"internal": "internal_transactions", "processor": "processor_lines", "bank": "bank_lines"}


def internal_transactions_suite(gxe, start: dt.date, end: dt.date) -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="transaction_id"),
        gxe.ExpectColumnValuesToBeUnique(column="transaction_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="processor_reference"),
        gxe.ExpectColumnValuesToBeInSet(column="type", value_set=["payment", "refund", "chargeback"]),
        gxe.ExpectColumnValuesToBeInSet(column="processor", value_set=list(PROCESSORS)),
        gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=ISO_4217),
        gxe.ExpectColumnValuesToBeBetween(column="amount_minor", min_value=1, max_value=MAX_ABS_MINOR),
        *_in_partition(gxe, start, end),
    ]


def processor_lines_suite(gxe, start: dt.date, end: dt.date) -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="line_id"),
        # The record key. Not line_id: a line the processor delivers twice is loaded twice on purpose, posted
        # once (idempotency key) and reported by the reconciliation as a `duplicate` break.
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["file_id", "record_no"]),
        gxe.ExpectColumnValuesToBeInSet(column="processor", value_set=list(PROCESSORS)),
        gxe.ExpectColumnValuesToBeInSet(column="category", value_set=[
            "charge", "refund", "dispute", "fee", "payout", "adjustment", "other"]),
        gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=ISO_4217),
        gxe.ExpectColumnValuesToBeBetween(column="gross_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        gxe.ExpectColumnValuesToBeBetween(column="net_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        # A fee is at most the size of the line it is charged on (a dispute fee can exceed a small charge,
        # so the bound is absolute, not relative).
        gxe.ExpectColumnValuesToBeBetween(column="fee_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        *_in_partition(gxe, start, end),
    ]


def bank_lines_suite(gxe, start: dt.date, end: dt.date) -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="account_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["file_id", "record_no"]),
        gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=ISO_4217),
        gxe.ExpectColumnValuesToBeInSet(column="classification", value_set=["payout", "fee", "interest", "other"]),
        gxe.ExpectColumnValuesToBeBetween(column="amount_minor", min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
        # A statement line books at most a week before the day it lands (weekends, bank holidays).
        gxe.ExpectColumnValuesToBeBetween(column="booking_date", min_value=_ts(start - dt.timedelta(days=7)),
                                          max_value=_ts(end)),
        *_in_partition(gxe, start, end),
    ]


SUITES = {"internal_transactions": internal_transactions_suite, "processor_lines": processor_lines_suite,
          "bank_lines": bank_lines_suite}


def _ts(day: dt.date):
    import pandas as pd

    return pd.Timestamp(day)


def _in_partition(gxe, start: dt.date, end: dt.date) -> list:
    """business_date within the partition [start, end] (end inclusive: the last day of the run)."""
    return [gxe.ExpectColumnValuesToNotBeNull(column="business_date"),
            gxe.ExpectColumnValuesToBeBetween(column="business_date", min_value=_ts(start), max_value=_ts(end))]


@dataclass
class SuiteOutcome:
    table: str
    rows: int
    evaluated: int = 0
    failures: list[dict] = field(default_factory=list)   # expectation, column, unexpected_count, sample

    @property
    def success(self) -> bool:
        return not self.failures


def read_frame(conn: psycopg.Connection, table: str, tenant: str, start: dt.date, end: dt.date):
    import pandas as pd

    cur = conn.execute(f"SELECT {COLUMNS[table]} FROM imports.{table}"   # noqa: S608 - fixed table names
                       " WHERE tenant = %s AND business_date BETWEEN %s AND %s", (tenant, start, end))
    columns = [d.name for d in cur.description]
    frame = pd.DataFrame(cur.fetchall(), columns=columns)
    conn.rollback()
    for c in ("business_date", "booking_date"):
        if c in frame:
            frame[c] = pd.to_datetime(frame[c])
    for c in ("amount_minor", "gross_minor", "fee_minor", "net_minor"):
        if c in frame:
            frame[c] = frame[c].astype("int64")
    return frame


@cache
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context, context.data_sources.add_pandas("financeops_imports")


def validate(frame, table: str, start: dt.date, end: dt.date) -> SuiteOutcome:
    """Run the table's suite on a frame; failures name the expectation, column, count and sample values."""
    outcome = SuiteOutcome(table=table, rows=len(frame))
    if frame.empty:
        return outcome
    gx, context, source = _context()
    import great_expectations.expectations as gxe

    asset_name = f"{table}_{start}_{end}"
    try:
        batch = (source.add_dataframe_asset(name=asset_name).add_batch_definition_whole_dataframe("all")
                 .get_batch(batch_parameters={"dataframe": frame}))
        suite = gx.ExpectationSuite(name=f"{table}_suite", expectations=SUITES[table](gxe, start, end))
        result = batch.validate(suite)
    finally:
        source.delete_asset(asset_name)
    outcome.evaluated = len(result.results)
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        detail = r.result or {}
        kwargs = config.kwargs
        outcome.failures.append({
            "expectation": config.type,
            "column": kwargs.get("column") or ",".join(kwargs.get("column_list") or []),
            "unexpected_count": int(detail.get("unexpected_count") or 0),
            "sample": ", ".join(map(_short, (detail.get("partial_unexpected_list") or [])[:5])),
            "error": (r.exception_info or {}).get("exception_message") if r.exception_info else None,
        })
    return outcome


def _short(value: object) -> str:
    text = value.date().isoformat() if hasattr(value, "date") and hasattr(value, "hour") else str(value)
    return text[:60]

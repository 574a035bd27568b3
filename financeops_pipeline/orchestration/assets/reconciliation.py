"""Reconciliation asset: the three-way match of the partition, computed in DuckDB, written to Postgres."""


import dagster as dg

from financeops_pipeline.orchestration.assets.imports import bank_records, internal_records, processor_records
from financeops_pipeline.orchestration.assets.ledger import journal_entries
from financeops_pipeline.orchestration.partitions import tenant_day_partitions
from financeops_pipeline.orchestration.resources import (
    RETRY_POLICY,
    FinanceopsResource,
    partition_days,
    partition_tenants,
    retry_only_transient,
)
from financeops_pipeline.reconciliation.adjusting import post_day_adjustments
from financeops_pipeline.reconciliation.engine import reconcile_day
from financeops_pipeline.reports.build import markdown_table


@dg.asset(
    # The match reads the imports (their record files), never the ledger.
    key_prefix=["recon"], group_name="reconciliation", partitions_def=tenant_day_partitions,
    deps=[bank_records, processor_records, internal_records],
    backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=RETRY_POLICY, kinds={"duckdb", "postgres"},
    metadata={"table": "recon.breaks, recon.item_status (open states), recon.day_totals; every state in Parquet"},
    description="Internal <-> processor <-> payout <-> bank matching with windows and carried-forward breaks.",
)
def three_way_match(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
    rows, breaks = [], []
    with retry_only_transient():
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):   # in date order: breaks carry forward
                    result = reconcile_day(conn, financeops.archive_path, tenant, day, context.run_id)
                    counts = result.counts()
                    rows.append({"tenant": tenant, "day": day.isoformat(), **{k: counts.get(k, 0) for k in (
                        "matched", "explained", "pending", "suggested", "break")}})
                    breaks += [{"tenant": tenant, **b} for b in result.breaks.to_pylist()
                               if b["lifecycle"] != "resolved"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(sum(v for k, v in r.items() if k not in ("tenant", "day")) for r in rows),
        "matched": sum(r["matched"] for r in rows),
        "open_breaks": len(breaks),
        "preview": dg.MetadataValue.md(markdown_table(rows, ["tenant", "day", "matched", "explained", "pending",
                                                             "break"])),
        "breaks": dg.MetadataValue.md(markdown_table(
            breaks, ["tenant", "break_type", "source", "source_ref", "amount_minor", "currency", "first_seen",
                     "age_days", "lifecycle"])),
    })


@dg.asset(
    # After both the day's posting and its match: the ledger is never written beside the day's own posting.
    key_prefix=["ledger"], group_name="ledger", partitions_def=tenant_day_partitions,
    deps=[journal_entries, three_way_match],
    backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=RETRY_POLICY, kinds={"postgres"},
    metadata={"table": "ledger.journal_entries (rule recon_adjustment)"},
    description="Adjusting entries of the tolerance and FX matches (bank fees, FX), with the matching rule in "
                "their audit trail.",
)
def recon_adjustments(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
    posted = already = 0
    with retry_only_transient():
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):
                    result = post_day_adjustments(conn, tenant, day, context.run_id)
                    posted += result.posted
                    already += result.already_posted
    return dg.MaterializeResult(metadata={"entries_posted": posted, "already_posted": already})

"""Ledger asset: the partition's events posted as balanced journal entries."""


from functools import partial

import dagster as dg

from financeops_pipeline.ledger.posting import post_day_in_slices, posting_slices
from financeops_pipeline.ledger.rules import load_rules
from financeops_pipeline.orchestration.assets.imports import bank_records, internal_records, processor_records
from financeops_pipeline.orchestration.partitions import tenant_day_partitions
from financeops_pipeline.orchestration.resources import (
    RETRY_POLICY,
    FinanceopsResource,
    partition_days,
    partition_tenants,
    retry_only_transient,
)
from financeops_pipeline.reports.build import markdown_table


@dg.asset(
    key_prefix=["ledger"], group_name="ledger", partitions_def=tenant_day_partitions,
    deps=[bank_records, processor_records, internal_records],
    backfill_policy=dg.BackfillPolicy.single_run(), kinds={"postgres"},
    metadata={"table": "ledger.transfers, ledger.entry_keys (views: ledger.journal_entries, ledger.postings)"},

    retry_policy=RETRY_POLICY,
    description="Transfers per the versioned posting rules, a fresh partition per batch; balanced by construction.",
)
def journal_entries(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
    rows = []
    with retry_only_transient():
        for tenant in partition_tenants(context, financeops):
            for day in partition_days(context):   # in date order: snapshots carry forward
                result = post_day_in_slices(partial(financeops.tenant_conn, tenant), tenant, day, context.run_id,
                                            posting_slices(), archive_dir=financeops.archive_path)
                rows.append({"tenant": tenant, "day": day.isoformat(), "events": result.events,
                             "entries_posted": result.entries_posted, "postings": result.postings_posted,
                             "already_posted": result.entries_already_posted})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(r["postings"] for r in rows),
        "entries_posted": sum(r["entries_posted"] for r in rows),
        "rule_version": load_rules().version,
        "preview": dg.MetadataValue.md(markdown_table(
            rows, ["tenant", "day", "events", "entries_posted", "postings", "already_posted"])),
    })

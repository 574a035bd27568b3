"""Report assets: published as tables in Postgres and previewed in the Dagster UI."""


import dagster as dg

from financeops_pipeline.orchestration.assets.ledger import journal_entries
from financeops_pipeline.orchestration.assets.reconciliation import three_way_match
from financeops_pipeline.orchestration.partitions import daily_partitions
from financeops_pipeline.orchestration.resources import FinanceopsResource, partition_days
from financeops_pipeline.reports.build import build_report, markdown_table

_COLUMNS = {
    "trial_balance": ["tenant", "account_code", "currency", "debit_minor", "credit_minor"],
    "recon_summary": ["tenant", "source", "currency", "status", "items", "amount_minor"],
}


def _report_asset(name: str, upstream: dg.AssetsDefinition, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name, key_prefix=["reports"], group_name="reports", partitions_def=daily_partitions,
        deps=[upstream], backfill_policy=dg.BackfillPolicy.single_run(), kinds={"postgres"},
        metadata={"table": f"reports.{name}"}, description=description,
    )
    def _asset(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
        rows = []
        for tenant in financeops.tenant_list():
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):
                    rows += build_report(conn, name, tenant, day)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": len(rows),
            "preview": dg.MetadataValue.md(markdown_table(rows, _COLUMNS[name])),
        })

    return _asset


trial_balance = _report_asset("trial_balance", journal_entries,
                              "Closing balance of every account per currency, from the daily snapshots.")
recon_summary = _report_asset("recon_summary", three_way_match,
                              "Items and amounts per source, currency and state (matched, pending, break).")

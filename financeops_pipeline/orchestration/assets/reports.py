"""Report assets: published as tables in Postgres and previewed in the Dagster UI (table + chart)."""


import dagster as dg

from financeops_pipeline.orchestration.assets.ledger import journal_entries
from financeops_pipeline.orchestration.assets.reconciliation import recon_adjustments, three_way_match
from financeops_pipeline.orchestration.partitions import tenant_day_partitions
from financeops_pipeline.orchestration.resources import (
    RETRY_POLICY,
    FinanceopsResource,
    partition_days,
    partition_tenants,
    retry_only_transient,
)
from financeops_pipeline.reports.build import build_sections
from financeops_pipeline.reports.catalog import REPORT_CATALOG

# Columns shown in the UI preview (the stored table and the CLI have them all).
_PREVIEW = {
    "trial_balance": ["account_code", "currency", "debit_minor", "credit_minor"],
    "recon_summary": ["source", "currency", "status", "items", "amount_minor"],
    "cash_position": ["bank_account", "currency", "bank_closing_minor", "bank_movement_minor",
                      "ledger_balance_minor", "difference_minor", "day_difference_minor"],
}


def _report_asset(name: str, *upstream: dg.AssetsDefinition) -> dg.AssetsDefinition:
    report = REPORT_CATALOG[name]

    @dg.asset(
        name=name, key_prefix=["reports"], group_name="reports", partitions_def=tenant_day_partitions,
        # the ledger reports read the day's posting and its adjusting entries; a blocking check of either stops them
        deps=list(upstream), backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=RETRY_POLICY,
        kinds={"postgres"},
        metadata={"table": ", ".join(f"reports.{s.table}" for s in report.sections)},
        description=report.description,
    )
    def _asset(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
        from financeops_pipeline.reports.charts import report_chart
        from financeops_pipeline.reports.render import markdown

        built: dict[str, list[dict]] = {s.table: [] for s in report.sections}
        with retry_only_transient():
            for tenant in partition_tenants(context, financeops):
                with financeops.report_conn(tenant) as conn:
                    for day in partition_days(context):
                        for table, rows in build_sections(conn, name, tenant, day).items():
                            built[table] += rows
        metadata: dict[str, object] = {"dagster/row_count": sum(len(r) for r in built.values())}
        for i, section in enumerate(report.sections):
            key = "preview" if i == 0 else section.table
            metadata[key] = dg.MetadataValue.md(f"**{section.title}**\n\n"
                                                + markdown(section, built[section.table],
                                                         _PREVIEW.get(name) if i == 0 else None))
        chart = report_chart(name, built)
        if chart:
            metadata["chart"] = dg.MetadataValue.md(chart)
        return dg.MaterializeResult(metadata=metadata)

    return _asset


trial_balance = _report_asset("trial_balance", journal_entries, recon_adjustments)
balance_sheet = _report_asset("balance_sheet", journal_entries, recon_adjustments)
income_statement = _report_asset("income_statement", journal_entries, recon_adjustments)
processor_fees = _report_asset("processor_fees", journal_entries, recon_adjustments)
cash_position = _report_asset("cash_position", journal_entries, recon_adjustments)
recon_summary = _report_asset("recon_summary", three_way_match)
break_aging = _report_asset("break_aging", three_way_match)

REPORT_ASSETS = [trial_balance, balance_sheet, income_statement, processor_fees, cash_position, recon_summary,
                 break_aging]

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


def _report_spec(name: str, upstream: list[dg.AssetsDefinition]) -> dg.AssetSpec:
    report = REPORT_CATALOG[name]
    return dg.AssetSpec(
        ["reports", name], group_name="reports", deps=upstream, kinds={"postgres"},
        metadata={"table": ", ".join(f"reports.{s.table}" for s in report.sections)}, description=report.description,
    )


def _publish(context: dg.AssetExecutionContext, financeops: FinanceopsResource, name: str) -> dg.MaterializeResult:
    """Build one report for the run's tenant-days (published in Postgres by build_sections) and its UI preview."""
    from financeops_pipeline.reports.charts import report_chart
    from financeops_pipeline.reports.render import markdown

    report = REPORT_CATALOG[name]
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
    return dg.MaterializeResult(asset_key=["reports", name], metadata=metadata)


def _reports_asset(step: str, names: list[str], *upstream: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """Reports that read the same upstream, as one step (each Dagster step costs a round of event-log writes, more
    than a report's queries at 1M transactions); each keeps its own asset key and can be materialized alone. A
    blocking check failed upstream stops the step, so the ledger and the reconciliation reports are two steps:
    a ledger that fails its checks does not hold back the reconciliation's reports."""

    @dg.multi_asset(
        name=step, specs=[_report_spec(n, list(upstream)) for n in names], can_subset=True,
        partitions_def=tenant_day_partitions, backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=RETRY_POLICY,
    )
    def _asset(context: dg.AssetExecutionContext, financeops: FinanceopsResource):
        for name in names:
            if dg.AssetKey(["reports", name]) in context.selected_asset_keys:
                yield _publish(context, financeops, name)

    return _asset


ledger_reports = _reports_asset(
    "ledger_reports", ["trial_balance", "balance_sheet", "income_statement", "processor_fees", "cash_position"],
    journal_entries, recon_adjustments)
recon_reports = _reports_asset("recon_reports", ["recon_summary", "break_aging"], three_way_match)

REPORT_ASSETS = [ledger_reports, recon_reports]

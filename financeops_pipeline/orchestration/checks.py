"""Asset checks: the ones that protect money are blocking, so a bad day stops before its reports."""


import dagster as dg

from financeops_pipeline.orchestration.assets.imports import bank_records
from financeops_pipeline.orchestration.assets.ledger import journal_entries
from financeops_pipeline.orchestration.assets.reconciliation import three_way_match
from financeops_pipeline.orchestration.partitions import daily_partitions
from financeops_pipeline.orchestration.resources import FinanceopsResource, partition_days
from financeops_pipeline.quality.checks import CHECKS, run_check
from financeops_pipeline.reports.build import markdown_table


def _sql_check(name: str, asset: dg.AssetsDefinition, blocking: bool,
               severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR) -> dg.AssetChecksDefinition:
    @dg.asset_check(name=name, asset=asset, blocking=blocking, partitions_def=daily_partitions,
                    description=CHECKS[name])
    def _check(context: dg.AssetCheckExecutionContext, financeops: FinanceopsResource) -> dg.AssetCheckResult:
        violations = []
        for tenant in financeops.tenant_list():
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):
                    violations += [{"tenant": tenant, "day": day.isoformat(), **row}
                                   for row in run_check(conn, name, tenant, day)]
        return dg.AssetCheckResult(
            passed=not violations, severity=severity,
            metadata={"violations": len(violations),
                      "details": dg.MetadataValue.md(markdown_table(violations, list(violations[0]))
                                                     if violations else "_none_")},
        )

    return _check


asset_checks = [
    _sql_check("ledger_balanced", journal_entries, blocking=True),
    _sql_check("snapshots_match_postings", journal_entries, blocking=True),
    _sql_check("statement_integrity", bank_records, blocking=False),
    _sql_check("quarantined_records", bank_records, blocking=False, severity=dg.AssetCheckSeverity.WARN),
    _sql_check("recon_conservation", three_way_match, blocking=True),
]
